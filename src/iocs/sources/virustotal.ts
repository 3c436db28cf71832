/**
 * VirusTotal v3 object lookups. Sub-score from the share of engines that flag the
 * object (malicious counts fully, suspicious half), saturating at VT_SATURATION_RATIO
 * because a handful of engines agreeing is already a strong signal for IPs and URLs
 * (docs/scoring.md). 404 NotFoundError means "VirusTotal has never seen it": OK with a
 * null score (unknown), neither clean nor an error.
 */
import { z } from 'zod';
import type { IocType, ParsedIoc, ThreatCategory } from '../ioc-types.js';
import { categoriesFromLabels, clampScore, type KeywordRule } from './category-match.js';
import { createHttpSource, type SourceSpec, type Verdict } from './http-source.js';
import type { SourceAdapterFactory } from './source-adapter.js';

export const VIRUSTOTAL_DEFAULT_BASE_URL = 'https://www.virustotal.com/';
const API_PATH = 'api/v3';
/** Flagged share of engines at which the sub-score reaches 100 (9 of 90 engines). */
export const VT_SATURATION_RATIO = 0.1;
/** A suspicious verdict counts as half a malicious one. */
export const VT_SUSPICIOUS_WEIGHT = 0.5;

/** URL identifiers are the URL in unpadded base64url (VirusTotal API v3 "URL identifiers"). */
const urlId = (url: string): string => Buffer.from(url, 'utf8').toString('base64url');

/**
 * /files/{id} takes a SHA-256, SHA-1 or MD5 as the id: a SHA-512 is SKIPPED as
 * UNSUPPORTED without a request.
 */
const OBJECT_PATHS: Readonly<Partial<Record<IocType, (ioc: ParsedIoc) => string>>> = {
  IPV4: (ioc) => `ip_addresses/${ioc.value}`,
  IPV6: (ioc) => `ip_addresses/${encodeURIComponent(ioc.value)}`,
  DOMAIN: (ioc) => `domains/${ioc.value}`,
  URL: (ioc) => `urls/${urlId(ioc.value)}`,
  MD5: (ioc) => `files/${ioc.value}`,
  SHA1: (ioc) => `files/${ioc.value}`,
  SHA256: (ioc) => `files/${ioc.value}`,
};

/** Vendor categories, engine verdicts, tags and threat labels → ours. */
export const VT_LABEL_CATEGORIES: readonly KeywordRule[] = [
  [/phish|fraud/i, 'PHISHING'],
  [
    /malware|malicious|trojan|ransom|virus|worm|spyware|stealer|backdoor|dropper|downloader|miner/i,
    'MALWARE',
  ],
  [/botnet|\bc2\b|command and control/i, 'BOTNET'],
  [/spam/i, 'SPAM'],
  [/proxy|anonymi[sz]er|\btor\b/i, 'PROXY'],
  [/scan/i, 'SCAN'],
  [/exploit|cve-\d/i, 'EXPLOIT'],
  [/brute/i, 'BRUTEFORCE'],
  [/ddos/i, 'DDOS'],
  [/crawler|spider/i, 'CRAWLER'],
];
/** Engine verdicts that carry no category ("malicious" says only that it is bad). */
const GENERIC_VERDICTS = /^(malicious|suspicious|malicious site|suspicious site)$/i;

const Stats = z.object({
  harmless: z.number().int().min(0).default(0),
  malicious: z.number().int().min(0).default(0),
  suspicious: z.number().int().min(0).default(0),
  undetected: z.number().int().min(0).default(0),
  timeout: z.number().int().min(0).default(0),
});
const ObjectResponse = z.object({
  data: z.object({
    id: z.string(),
    type: z.string(),
    attributes: z.object({
      last_analysis_stats: Stats.nullish(),
      last_analysis_results: z
        .record(z.string(), z.object({ category: z.string().nullish(), result: z.string().nullish() }))
        .nullish(),
      last_analysis_date: z.number().nullish(),
      reputation: z.number().nullish(),
      total_votes: z.object({ harmless: z.number(), malicious: z.number() }).nullish(),
      tags: z.array(z.string()).nullish(),
      categories: z.record(z.string(), z.string()).nullish(),
      as_owner: z.string().nullish(),
      country: z.string().nullish(),
      popular_threat_classification: z
        .object({
          suggested_threat_label: z.string().nullish(),
          popular_threat_category: z.array(z.object({ value: z.string() })).nullish(),
        })
        .nullish(),
    }),
  }),
});
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string().nullish() }) });

export function virusTotalScore(stats: z.infer<typeof Stats>): number | null {
  const engines = stats.harmless + stats.malicious + stats.suspicious + stats.undetected;
  if (engines === 0) return null; // queued or never analysed: no opinion yet
  const flagged = stats.malicious + VT_SUSPICIOUS_WEIGHT * stats.suspicious;
  return clampScore((100 * flagged) / engines / VT_SATURATION_RATIO);
}

const UNKNOWN: Verdict = { score: null, categories: [], data: { found: false }, evidence: { known: false } };

export const VIRUSTOTAL_SPEC: SourceSpec = {
  name: 'VIRUSTOTAL',
  supportedTypes: new Set(Object.keys(OBJECT_PATHS) as IocType[]),
  request: (ioc, apiKey) => ({
    path: `${API_PATH}/${OBJECT_PATHS[ioc.type]!(ioc)}`,
    headers: { 'x-apikey': apiKey, accept: 'application/json' },
  }),
  normalise(body) {
    const a = ObjectResponse.parse(body).data.attributes;
    const stats = a.last_analysis_stats ?? Stats.parse({});
    const score = virusTotalScore(stats);
    const verdicts = Object.values(a.last_analysis_results ?? {})
      .filter((r) => r.category === 'malicious' || r.category === 'suspicious')
      .map((r) => r.result ?? '')
      .filter((r) => r !== '' && !GENERIC_VERDICTS.test(r));
    const threat = a.popular_threat_classification;
    const labels = [
      ...Object.values(a.categories ?? {}),
      ...(a.tags ?? []),
      ...verdicts,
      ...(threat?.popular_threat_category ?? []).map((c) => c.value),
      ...(threat?.suggested_threat_label ? [threat.suggested_threat_label] : []),
    ];
    // Benign vendor categories ("search engines") match nothing; threat words on a clean object are noise.
    const categories: ThreatCategory[] =
      score !== null && score > 0 ? categoriesFromLabels(labels, VT_LABEL_CATEGORIES) : [];
    return {
      score,
      categories,
      data: {
        found: true,
        stats,
        reputation: a.reputation ?? null,
        totalVotes: a.total_votes ?? null,
        suggestedThreatLabel: threat?.suggested_threat_label ?? null,
        tags: a.tags ?? [],
        lastAnalysisAt: a.last_analysis_date ? new Date(a.last_analysis_date * 1000).toISOString() : null,
        asOwner: a.as_owner ?? null,
        country: a.country ?? null,
      },
      evidence: { known: true },
    };
  },
  notFound: (body) => (ErrorBody.safeParse(body).data?.error.code === 'NotFoundError' ? UNKNOWN : undefined),
  errorMessage(body) {
    const e = ErrorBody.safeParse(body).data?.error;
    return e ? `${e.code}${e.message ? ` (${e.message})` : ''}` : undefined;
  },
};

export const createVirusTotalAdapter: SourceAdapterFactory = (options, gate) =>
  createHttpSource(VIRUSTOTAL_SPEC, options, gate);
