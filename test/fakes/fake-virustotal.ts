/** VirusTotal v3 object endpoints and error bodies, as VirusTotal documents them. */
import type { FakeReply, VendorProfile } from './fake-upstream.js';

const ROUTE = /^\/api\/v3\/(ip_addresses|domains|urls|files)\/([^/]+)$/;
const TYPES: Readonly<Record<string, string>> = {
  ip_addresses: 'ip_address',
  domains: 'domain',
  urls: 'url',
  files: 'file',
};

const stats = (malicious: number, suspicious: number, harmless: number, undetected: number) => ({
  harmless,
  malicious,
  suspicious,
  undetected,
  timeout: 0,
});

const object = (id: string, collection: string, attributes: Record<string, unknown>): FakeReply => ({
  status: 200,
  body: {
    data: {
      id,
      type: TYPES[collection] ?? 'unknown',
      links: { self: `https://vt.invalid/api/v3/${collection}/${id}` },
      attributes: { reputation: 0, tags: [], total_votes: { harmless: 0, malicious: 0 }, ...attributes },
    },
  },
});

/** The fake is told the IOC value; the collection comes from its shape, like the route would. */
const collectionOf = (value: string): string =>
  /^https?:\/\//.test(value)
    ? 'urls'
    : /^[0-9a-f]{32,64}$/.test(value)
      ? 'files'
      : /^[\d.:a-f]+$/.test(value)
        ? 'ip_addresses'
        : 'domains';

const vtError = (status: number, code: string, message: string): FakeReply => ({
  status,
  body: { error: { code, message } },
});

export const virusTotalProfile: VendorProfile = {
  name: 'VIRUSTOTAL',
  keyHeader: 'x-apikey',
  valueOf(url) {
    const match = ROUTE.exec(url.pathname);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    const id = decodeURIComponent(match[2]);
    return match[1] === 'urls' ? Buffer.from(id, 'base64url').toString('utf8') : id;
  },
  knownBad: (value) =>
    object(value, collectionOf(value), {
      last_analysis_stats: stats(12, 2, 16, 60),
      last_analysis_results: {
        EngineA: { category: 'malicious', result: 'phishing', engine_name: 'EngineA' },
        EngineB: { category: 'malicious', result: 'malware', engine_name: 'EngineB' },
        EngineC: { category: 'harmless', result: 'clean', engine_name: 'EngineC' },
      },
      last_analysis_date: 1780000000,
      categories: { VendorX: 'phishing and fraud' },
      reputation: -42,
      popular_threat_classification: {
        suggested_threat_label: 'trojan.fixture/stealer',
        popular_threat_category: [{ value: 'trojan', count: 10 }],
      },
    }),
  clean: (value) =>
    object(value, collectionOf(value), {
      last_analysis_stats: stats(0, 0, 70, 20),
      last_analysis_results: { EngineC: { category: 'harmless', result: 'clean', engine_name: 'EngineC' } },
      last_analysis_date: 1780000000,
      categories: { VendorX: 'search engines and portals' },
    }),
  unknown: (value) => vtError(404, 'NotFoundError', `Resource "${value}" not found`),
  // VirusTotal has no whitelist flag: a benign object is simply clean.
  whitelisted: (value) =>
    object(value, collectionOf(value), { last_analysis_stats: stats(0, 0, 80, 10), reputation: 120 }),
  wrongKey: vtError(401, 'WrongCredentialsError', 'Wrong API key'),
  rateLimited: (retryAfter) => ({
    ...vtError(429, 'QuotaExceededError', 'Quota exceeded'),
    headers: { 'retry-after': retryAfter },
  }),
  serverError: vtError(503, 'TransientError', 'Please retry later'),
};
