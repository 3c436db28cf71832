/**
 * STIX 2.1 objects for IOC feeds: one `indicator` per IOC, a `sighting` where threat
 * events or CrowdSec alerts saw it, and the `identity` that created them. Identifiers
 * are UUIDv5 from a fixed namespace, so the same IOC keeps the same id in every export
 * and consumers can de-duplicate across polls.
 */
import { v5 as uuidv5 } from 'uuid';
import type { FeedIocRow } from './feed-types.js';

/** Fixed namespace of every threatwire STIX id (never change: ids would all move). */
export const STIX_NAMESPACE = '6f1d2b3a-9c4e-5a7b-8d2e-4f6a1c3b5e7d';

/** The creator of every object: threatwire itself. */
export const IDENTITY_ID = `identity--${uuidv5('identity:threatwire', STIX_NAMESPACE)}`;
/** A fixed creation time, so the identity object is byte-identical in every bundle. */
const IDENTITY_CREATED = '2026-01-01T00:00:00.000Z';

/** How long an indicator stays valid after its last enrichment. */
export const INDICATOR_VALIDITY_DAYS = 30;
const DAY_MS = 86_400_000;

export const identityObject = {
  type: 'identity',
  spec_version: '2.1',
  id: IDENTITY_ID,
  created: IDENTITY_CREATED,
  modified: IDENTITY_CREATED,
  name: 'threatwire',
  identity_class: 'system',
};

/** A STIX id of `type` for `key`: stable across exports. */
export const stixId = (type: string, key: string): string => `${type}--${uuidv5(key, STIX_NAMESPACE)}`;

/** A string literal of STIX patterning: quotes and backslashes escaped. */
export function patternString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const HASH_NAMES: Record<string, string> = {
  MD5: 'MD5',
  SHA1: 'SHA-1',
  SHA256: 'SHA-256',
  SHA512: 'SHA-512',
};

/** The STIX pattern that matches an IOC of `type` with `value`. */
export function stixPattern(type: string, value: string): string {
  const v = patternString(value);
  switch (type) {
    case 'IPV4':
      return `[ipv4-addr:value = ${v}]`;
    case 'IPV6':
      return `[ipv6-addr:value = ${v}]`;
    case 'DOMAIN':
      return `[domain-name:value = ${v}]`;
    case 'URL':
      return `[url:value = ${v}]`;
    default: {
      const hash = HASH_NAMES[type];
      if (hash === undefined) throw new Error(`no STIX pattern for IOC type ${type}`);
      return `[file:hashes.${patternString(hash)} = ${v}]`;
    }
  }
}

const SOURCE_NAMES: Record<string, string> = {
  ABUSEIPDB: 'AbuseIPDB',
  OTX: 'AlienVault OTX',
  VIRUSTOTAL: 'VirusTotal',
};

/** A public page about `value` at a source, where the source has one for the type. */
function sourceUrl(source: string, type: string, value: string): string | undefined {
  const v = encodeURIComponent(value);
  const isIp = type === 'IPV4' || type === 'IPV6';
  const isHash = HASH_NAMES[type] !== undefined;
  switch (source) {
    case 'ABUSEIPDB':
      return isIp ? `https://www.abuseipdb.com/check/${v}` : undefined;
    case 'OTX': {
      const kind = isIp
        ? type === 'IPV4'
          ? 'ip'
          : 'ipv6'
        : type === 'DOMAIN'
          ? 'domain'
          : type === 'URL'
            ? 'url'
            : 'file';
      return `https://otx.alienvault.com/indicator/${kind}/${v}`;
    }
    case 'VIRUSTOTAL':
      if (isIp) return `https://www.virustotal.com/gui/ip-address/${v}`;
      if (type === 'DOMAIN') return `https://www.virustotal.com/gui/domain/${v}`;
      if (isHash) return `https://www.virustotal.com/gui/file/${v}`;
      return undefined;
    default:
      return undefined;
  }
}

const iso = (d: Date): string => d.toISOString();

/** The indicator for one IOC row. */
export function indicatorOf(row: FeedIocRow): Record<string, unknown> {
  const created = row.firstSeenAt;
  const modified =
    row.lastEnrichedAt && row.lastEnrichedAt.getTime() > created.getTime() ? row.lastEnrichedAt : created;
  const refs = row.sources.map((s) => {
    const url = sourceUrl(s, row.type, row.value);
    return url
      ? { source_name: SOURCE_NAMES[s] ?? s, url }
      : { source_name: SOURCE_NAMES[s] ?? s, description: `${SOURCE_NAMES[s] ?? s} enrichment` };
  });
  const level = row.riskLevel;
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: stixId('indicator', `ioc:${row.type}:${row.value}`),
    created_by_ref: IDENTITY_ID,
    created: iso(created),
    modified: iso(modified),
    name: row.value,
    indicator_types: [
      row.riskScore !== null && row.riskScore >= 50 ? 'malicious-activity' : 'anomalous-activity',
    ],
    pattern: stixPattern(row.type, row.value),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: iso(created),
    ...(row.lastEnrichedAt
      ? { valid_until: iso(new Date(modified.getTime() + INDICATOR_VALIDITY_DAYS * DAY_MS)) }
      : {}),
    ...(row.riskScore !== null ? { confidence: row.riskScore } : {}),
    ...(row.categories.length > 0 ? { labels: row.categories.map((c) => c.toLowerCase()) } : {}),
    ...(level ? { description: `threatwire risk ${row.riskScore ?? 'unknown'} (${level})` } : {}),
    ...(refs.length > 0 ? { external_references: refs } : {}),
  };
}

/** The sighting of one IOC row, or undefined when nothing saw it. */
export function sightingOf(row: FeedIocRow): Record<string, unknown> | undefined {
  const s = row.sightings;
  if (!s || s.count === 0 || !s.firstAt || !s.lastAt) return undefined;
  const indicator = stixId('indicator', `ioc:${row.type}:${row.value}`);
  return {
    type: 'sighting',
    spec_version: '2.1',
    id: stixId('sighting', `sighting:${row.type}:${row.value}`),
    created_by_ref: IDENTITY_ID,
    created: iso(s.firstAt),
    modified: iso(s.lastAt),
    first_seen: iso(s.firstAt),
    last_seen: iso(s.lastAt),
    count: Math.min(s.count, 999_999_999),
    sighting_of_ref: indicator,
    where_sighted_refs: [IDENTITY_ID],
  };
}
