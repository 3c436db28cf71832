/**
 * Domain types for IOC enrichment. The string unions mirror the GraphQL enums of the
 * same names (schema.graphql), so resolvers map them 1:1 without importing the
 * GraphQL layer here.
 */
export type IocType = 'IPV4' | 'IPV6' | 'DOMAIN' | 'URL' | 'MD5' | 'SHA1' | 'SHA256' | 'SHA512';

export const IOC_TYPES: readonly IocType[] = [
  'IPV4',
  'IPV6',
  'DOMAIN',
  'URL',
  'MD5',
  'SHA1',
  'SHA256',
  'SHA512',
];

/** Shared with the threat-event classifier: defined in platform/threat-category.ts. */
export type { ThreatCategory } from '../platform/threat-category.js';

export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface ParsedIoc {
  type: IocType;
  /** Normalised form: the identity under which the IOC is cached and stored. */
  value: string;
  /** False for private, reserved and documentation space: never sent upstream. */
  routable: boolean;
  nonRoutableReason?: string;
  /** Unicode form of an internationalised domain or URL host; value keeps the punycode. */
  unicodeValue?: string;
  /** The ASCII name a homoglyph domain (or URL host) imitates: gооgle.com → google.com. */
  lookalikeOf?: string;
}

/** What parsing noted while turning the submitted text into the IOC. */
export interface InputNotes {
  /** In the analyst's words: refanged tokens, credentials removed, port dropped, … */
  notes: string[];
  credentialsRemoved: boolean;
}

/** An IOC together with how the submitted text became it. */
export interface SubmittedIoc {
  ioc: ParsedIoc;
  /** The submitted text, trimmed; a URL password is shown as ***. */
  input: string;
  /** The text was defanged (hxxp, [.], (.), [@], …) and was refanged before detection. */
  refanged: boolean;
  /** user:password@ was removed from a URL: never stored, never sent to a source. */
  credentialsRemoved: boolean;
  normalizations: string[];
}
