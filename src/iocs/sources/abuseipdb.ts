/**
 * AbuseIPDB v2 /check (IP addresses only). Sub-score = abuseConfidenceScore, which the
 * vendor already weighs by report recency and reporter reputation; isWhitelisted is
 * passed on as evidence so the fused score can be capped (docs/scoring.md).
 */
import { z } from 'zod';
import type { IocType, ThreatCategory } from '../ioc-types.js';
import { clampScore } from './category-match.js';
import { createHttpSource, type SourceSpec } from './http-source.js';
import type { SourceAdapterFactory } from './source-adapter.js';

export const ABUSEIPDB_DEFAULT_BASE_URL = 'https://api.abuseipdb.com/';
const CHECK_PATH = 'api/v2/check';
/** Reports older than this do not count (the vendor's own window; 90 days is its default UI choice). */
const MAX_AGE_IN_DAYS = '90';
const SUPPORTED: ReadonlySet<IocType> = new Set(['IPV4', 'IPV6']);

/** AbuseIPDB report category ids (https://www.abuseipdb.com/categories) → ours. */
export const ABUSEIPDB_CATEGORIES: Readonly<Record<number, ThreatCategory>> = {
  1: 'OTHER', // DNS compromise
  2: 'OTHER', // DNS poisoning
  3: 'OTHER', // fraud orders
  4: 'DDOS',
  5: 'BRUTEFORCE', // FTP brute-force
  6: 'DDOS', // ping of death
  7: 'PHISHING',
  8: 'OTHER', // fraud VoIP
  9: 'PROXY', // open proxy
  10: 'SPAM', // web spam
  11: 'SPAM', // email spam
  12: 'SPAM', // blog spam
  13: 'PROXY', // VPN IP
  14: 'SCAN', // port scan
  15: 'EXPLOIT', // hacking
  16: 'EXPLOIT', // SQL injection
  17: 'OTHER', // spoofing
  18: 'BRUTEFORCE',
  19: 'CRAWLER', // bad web bot
  20: 'BOTNET', // exploited host: a compromised machine now attacking others
  21: 'EXPLOIT', // web app attack
  22: 'BRUTEFORCE', // SSH
  23: 'EXPLOIT', // IoT targeted
};

const CheckResponse = z.object({
  data: z.object({
    ipAddress: z.string(),
    isPublic: z.boolean().nullish(),
    ipVersion: z.number().nullish(),
    isWhitelisted: z.boolean().nullish(),
    abuseConfidenceScore: z.number().min(0).max(100),
    countryCode: z.string().nullish(),
    usageType: z.string().nullish(),
    isp: z.string().nullish(),
    domain: z.string().nullish(),
    hostnames: z.array(z.string()).nullish(),
    isTor: z.boolean().nullish(),
    totalReports: z.number().int().min(0),
    numDistinctUsers: z.number().int().min(0).nullish(),
    lastReportedAt: z.string().nullish(),
    reports: z.array(z.object({ categories: z.array(z.number()).nullish() })).nullish(),
  }),
});
const ErrorBody = z.object({ errors: z.array(z.object({ detail: z.string() })).min(1) });

/** Categories by how many reports carried them, most reported first. */
function reportCategories(reports: ReadonlyArray<{ categories?: number[] | null }>): ThreatCategory[] {
  const counts = new Map<ThreatCategory, number>();
  for (const id of reports.flatMap((r) => r.categories ?? [])) {
    const category = ABUSEIPDB_CATEGORIES[id];
    if (category !== undefined) counts.set(category, (counts.get(category) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}

export const ABUSEIPDB_SPEC: SourceSpec = {
  name: 'ABUSEIPDB',
  supportedTypes: SUPPORTED,
  request: (ioc, apiKey) => ({
    path: CHECK_PATH,
    query: { ipAddress: ioc.value, maxAgeInDays: MAX_AGE_IN_DAYS, verbose: '' },
    headers: { key: apiKey, accept: 'application/json' },
  }),
  normalise(body) {
    const d = CheckResponse.parse(body).data;
    return {
      score: clampScore(d.abuseConfidenceScore),
      categories: reportCategories(d.reports ?? []),
      data: {
        abuseConfidenceScore: d.abuseConfidenceScore,
        totalReports: d.totalReports,
        numDistinctUsers: d.numDistinctUsers ?? null,
        lastReportedAt: d.lastReportedAt ?? null,
        isWhitelisted: d.isWhitelisted ?? null,
        isTor: d.isTor ?? null,
        countryCode: d.countryCode ?? null,
        usageType: d.usageType ?? null,
        isp: d.isp ?? null,
        domain: d.domain ?? null,
      },
      evidence: { whitelisted: d.isWhitelisted === true, known: d.totalReports > 0 },
    };
  },
  errorMessage: (body) => ErrorBody.safeParse(body).data?.errors[0]?.detail,
};

export const createAbuseIpdbAdapter: SourceAdapterFactory = (options, gate) =>
  createHttpSource(ABUSEIPDB_SPEC, options, gate);
