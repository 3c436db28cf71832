/**
 * The threat categories, shared by the IOC sources (what a vendor says an address does)
 * and the threat-event classifier (what an event looks like). Same members as the
 * GraphQL `ThreatCategory` enum, kept here so neither domain depends on the GraphQL layer
 * or on the other.
 */
export const THREAT_CATEGORIES = [
  'BRUTEFORCE',
  'SCAN',
  'EXPLOIT',
  'MALWARE',
  'PHISHING',
  'DDOS',
  'BOTNET',
  'SPAM',
  'PROXY',
  'CRAWLER',
  'OTHER',
] as const;

export type ThreatCategory = (typeof THREAT_CATEGORIES)[number];

const CATEGORY_SET: ReadonlySet<string> = new Set(THREAT_CATEGORIES);

export function isThreatCategory(value: string): value is ThreatCategory {
  return CATEGORY_SET.has(value);
}
