/**
 * AlienVault OTX /indicators/{section}/{value}/general. Sub-score from the number of
 * pulses (community threat reports) naming the value, plus a bump when a pulse names
 * a malware family; `validation` entries (known benign: popular domains, vendor
 * allow-lists) are passed on as whitelist evidence (docs/scoring.md).
 */
import { getDomain } from 'tldts';
import { z } from 'zod';
import type { IocType, ParsedIoc, ThreatCategory } from '../ioc-types.js';
import { categoriesFromLabels, clampScore, mergeCategories, type KeywordRule } from './category-match.js';
import { createHttpSource, type SourceSpec } from './http-source.js';
import type { SourceAdapterFactory } from './source-adapter.js';

export const OTX_DEFAULT_BASE_URL = 'https://otx.alienvault.com/';
const INDICATOR_PATH = 'api/v1/indicators';
/** One pulse is a single community report: meaningful but weak. */
export const OTX_FIRST_PULSE_SCORE = 40;
/** Each doubling of the pulse count adds this much (1→40, 2→55, 4→70, 8→85, 16→100). */
export const OTX_SCORE_PER_DOUBLING = 15;
/** Added when any pulse names a malware family: a concrete attribution, not just a tag. */
export const OTX_MALWARE_FAMILY_BONUS = 10;
/** Pulses kept in `data` for the analyst; the count is always complete. */
const MAX_PULSES_IN_DATA = 5;

/**
 * OTX's indicator API has file sections for MD5, SHA-1 and SHA-256 only (its SDK's
 * supported_api_types): a SHA-512 is SKIPPED as UNSUPPORTED without a request.
 */
const SECTIONS: Readonly<Partial<Record<IocType, (ioc: ParsedIoc) => string>>> = {
  IPV4: () => 'IPv4',
  IPV6: () => 'IPv6',
  // OTX keys registrable domains and hostnames separately.
  DOMAIN: (ioc) => (getDomain(ioc.value) === ioc.value ? 'domain' : 'hostname'),
  URL: () => 'url',
  MD5: () => 'file',
  SHA1: () => 'file',
  SHA256: () => 'file',
};

/** Pulse tags and malware family names → ours; checked in order, every match counts. */
export const OTX_TAG_CATEGORIES: readonly KeywordRule[] = [
  [/brute|ssh|telnet|rdp|credential stuffing/i, 'BRUTEFORCE'],
  [/scan/i, 'SCAN'],
  [/exploit|cve-\d|rce|injection|webshell/i, 'EXPLOIT'],
  [/phish|credential harvest/i, 'PHISHING'],
  [/ddos|dos attack/i, 'DDOS'],
  [/botnet|\bbot\b|mirai|gafgyt|mozi|\bc2\b|\bc&c\b|command and control/i, 'BOTNET'],
  [/spam/i, 'SPAM'],
  [/proxy|\btor\b|\bvpn\b/i, 'PROXY'],
  [/crawler|scraper/i, 'CRAWLER'],
  [/malware|trojan|ransom|stealer|\brat\b|loader|backdoor|emotet|qakbot|cobalt ?strike|miner/i, 'MALWARE'],
];

const Pulse = z.object({
  name: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  malware_families: z
    .array(z.union([z.string(), z.object({ display_name: z.string().nullish() })]))
    .nullish(),
  attack_ids: z.array(z.object({ id: z.string().nullish(), name: z.string().nullish() })).nullish(),
  TLP: z.string().nullish(),
  adversary: z.string().nullish(),
});
const GeneralResponse = z.object({
  pulse_info: z.object({ count: z.number().int().min(0), pulses: z.array(Pulse).nullish() }),
  validation: z.array(z.object({ source: z.string().nullish(), name: z.string().nullish() })).nullish(),
  reputation: z.number().nullish(),
  country_code: z.string().nullish(),
  asn: z.string().nullish(),
});
const ErrorBody = z.object({ detail: z.string() });

const familyName = (f: string | { display_name?: string | null }): string =>
  typeof f === 'string' ? f : (f.display_name ?? '');

export function otxScore(pulseCount: number, hasMalwareFamily: boolean): number {
  if (pulseCount === 0) return 0;
  const base = OTX_FIRST_PULSE_SCORE + OTX_SCORE_PER_DOUBLING * Math.log2(pulseCount);
  return clampScore(base + (hasMalwareFamily ? OTX_MALWARE_FAMILY_BONUS : 0));
}

export const OTX_SPEC: SourceSpec = {
  name: 'OTX',
  supportedTypes: new Set(Object.keys(SECTIONS) as IocType[]),
  request: (ioc, apiKey) => ({
    path: `${INDICATOR_PATH}/${SECTIONS[ioc.type]!(ioc)}/${encodeURIComponent(ioc.value)}/general`,
    headers: { 'x-otx-api-key': apiKey, accept: 'application/json' },
  }),
  normalise(body) {
    const g = GeneralResponse.parse(body);
    const pulses = g.pulse_info.pulses ?? [];
    const families = [
      ...new Set(pulses.flatMap((p) => (p.malware_families ?? []).map(familyName)).filter(Boolean)),
    ];
    const tags = [...new Set(pulses.flatMap((p) => p.tags ?? []))];
    const validation = g.validation ?? [];
    const categories: ThreatCategory[] = mergeCategories(
      families.length > 0 ? ['MALWARE'] : [],
      categoriesFromLabels([...tags, ...families], OTX_TAG_CATEGORIES),
    );
    return {
      score: otxScore(g.pulse_info.count, families.length > 0),
      categories,
      data: {
        pulseCount: g.pulse_info.count,
        pulses: pulses
          .slice(0, MAX_PULSES_IN_DATA)
          .map((p) => ({ name: p.name ?? null, tlp: p.TLP ?? null, adversary: p.adversary ?? null })),
        malwareFamilies: families,
        tags: tags.slice(0, 20),
        attackIds: [
          ...new Set(pulses.flatMap((p) => (p.attack_ids ?? []).map((a) => a.id ?? '')).filter(Boolean)),
        ],
        validation: validation.map((v) => v.name ?? v.source ?? 'unnamed'),
        reputation: g.reputation ?? null,
        countryCode: g.country_code ?? null,
        asn: g.asn ?? null,
      },
      evidence: { whitelisted: validation.length > 0, known: g.pulse_info.count > 0 },
    };
  },
  errorMessage: (body) => ErrorBody.safeParse(body).data?.detail,
};

export const createOtxAdapter: SourceAdapterFactory = (options, gate) =>
  createHttpSource(OTX_SPEC, options, gate);
