/**
 * Domain types for IOC enrichment. The string unions mirror the GraphQL enums of the
 * same names (schema.graphql), so resolvers map them 1:1 without importing the
 * GraphQL layer here.
 */
export type IocType = 'IPV4' | 'IPV6' | 'DOMAIN' | 'URL' | 'MD5' | 'SHA1' | 'SHA256';

export const IOC_TYPES: readonly IocType[] = ['IPV4', 'IPV6', 'DOMAIN', 'URL', 'MD5', 'SHA1', 'SHA256'];

export type ThreatCategory =
  | 'BRUTEFORCE'
  | 'SCAN'
  | 'EXPLOIT'
  | 'MALWARE'
  | 'PHISHING'
  | 'DDOS'
  | 'BOTNET'
  | 'SPAM'
  | 'PROXY'
  | 'CRAWLER'
  | 'OTHER';

export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface ParsedIoc {
  type: IocType;
  /** Normalised form: the identity under which the IOC is cached and stored. */
  value: string;
  /** False for private, reserved and documentation space: never sent upstream. */
  routable: boolean;
  nonRoutableReason?: string;
}
