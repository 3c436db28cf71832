/** AbuseIPDB v2 /api/v2/check as documented. Bodies are our own fixtures. */
import type { FakeReply, VendorProfile } from './fake-upstream.js';

const check = (value: string, overrides: Record<string, unknown>): FakeReply => ({
  status: 200,
  body: {
    data: {
      ipAddress: value,
      isPublic: true,
      ipVersion: value.includes(':') ? 6 : 4,
      isWhitelisted: false,
      abuseConfidenceScore: 0,
      countryCode: 'NL',
      usageType: 'Data Center/Web Hosting/Transit',
      isp: 'Example Hosting B.V.',
      domain: 'example-hosting.nl',
      hostnames: [],
      isTor: false,
      totalReports: 0,
      numDistinctUsers: 0,
      lastReportedAt: null,
      reports: [],
      ...overrides,
    },
  },
});

const report = (categories: number[]) => ({
  reportedAt: '2026-06-01T10:00:00+00:00',
  comment: 'fixture report',
  categories,
  reporterId: 1,
  reporterCountryCode: 'DE',
});

export const abuseIpdbProfile: VendorProfile = {
  name: 'ABUSEIPDB',
  keyHeader: 'key',
  valueOf: (url) =>
    url.pathname === '/api/v2/check' ? (url.searchParams.get('ipAddress') ?? undefined) : undefined,
  knownBad: (value) =>
    check(value, {
      abuseConfidenceScore: 100,
      totalReports: 412,
      numDistinctUsers: 97,
      lastReportedAt: '2026-06-01T10:00:00+00:00',
      reports: [report([18, 22]), report([22]), report([14])],
    }),
  clean: (value) => check(value, {}),
  // AbuseIPDB has no "unknown": an address nobody reported comes back with zero reports.
  unknown: (value) => check(value, {}),
  whitelisted: (value) =>
    check(value, {
      isWhitelisted: true,
      abuseConfidenceScore: 0,
      usageType: 'Content Delivery Network',
      totalReports: 9,
      numDistinctUsers: 4,
      reports: [report([14])],
    }),
  wrongKey: {
    status: 401,
    body: {
      errors: [{ detail: 'Authentication failed: the API key is missing, wrong or revoked.', status: 401 }],
    },
  },
  rateLimited: (retryAfter) => ({
    status: 429,
    headers: { 'retry-after': retryAfter, 'x-ratelimit-limit': '1000', 'x-ratelimit-remaining': '0' },
    body: {
      errors: [{ detail: 'Daily rate limit of 1000 requests exceeded for this endpoint.', status: 429 }],
    },
  }),
  serverError: { status: 500, body: { errors: [{ detail: 'Internal server error.', status: 500 }] } },
};
