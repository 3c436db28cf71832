import { describe, expect, it } from 'vitest';
import type { StoredSource } from '../../src/iocs/ioc-record.js';
import { expiresAt, mergeSources, nextEnrichAt, staleSources } from '../../src/iocs/ioc-summary.js';

const TTL = { ok: 3600, error: 60, skipped: 600 };
const ALL = new Set(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'] as const);
const at = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();
const ok = (msAgo = 0, score = 80): StoredSource => ({
  status: 'OK',
  score,
  categories: ['SCAN'],
  data: {},
  durationMs: 5,
  fetchedAt: at(msAgo),
});
const deferred = (retryInMs: number): StoredSource => ({
  status: 'SKIPPED',
  score: null,
  categories: [],
  data: {},
  errorKind: 'QUOTA_DEFERRED',
  error: 'held back by the request budget',
  retryAt: new Date(Date.now() + retryInMs).toISOString(),
  durationMs: 0,
  fetchedAt: at(0),
});

describe('IOC summary rules', () => {
  it('serves each status for its own TTL, deferred results until retryAt', () => {
    expect(expiresAt(ok(0), TTL, true)).toBeGreaterThan(Date.now() + 3_500_000);
    expect(expiresAt({ ...ok(0), status: 'ERROR', errorKind: 'TIMEOUT' }, TTL, true)).toBeLessThan(
      Date.now() + 61_000,
    );
    expect(expiresAt(deferred(5000), TTL, true)).toBeLessThanOrEqual(Date.now() + 5000);
    const unsupported: StoredSource = { ...deferred(0), errorKind: 'UNSUPPORTED' };
    delete unsupported.retryAt;
    expect(expiresAt(unsupported, TTL, true)).toBe(Number.POSITIVE_INFINITY);
    const noKey: StoredSource = { ...unsupported, errorKind: 'NOT_CONFIGURED' };
    expect(expiresAt(noKey, TTL, false)).toBe(Number.POSITIVE_INFINITY);
    expect(expiresAt(noKey, TTL, true)).toBe(0); // a key was configured since: ask again
  });

  it('lists missing and expired sources as stale', () => {
    const stale = staleSources({ ABUSEIPDB: ok(0), OTX: ok(4_000_000) }, Date.now(), TTL, ALL);
    expect(stale).toEqual(['OTX', 'VIRUSTOTAL']);
  });

  it('keeps the last answer when a refresh is held back, and never lets an older pass win', () => {
    const old = ok(10_000, 90);
    const merged = mergeSources({ VIRUSTOTAL: old }, { VIRUSTOTAL: deferred(30_000) });
    expect(merged.VIRUSTOTAL).toMatchObject({ status: 'OK', score: 90, errorKind: 'QUOTA_DEFERRED' });
    expect(merged.VIRUSTOTAL?.retryAt).toBeDefined();
    const newer = ok(0, 10);
    expect(mergeSources({ OTX: newer }, { OTX: ok(5_000, 99) }).OTX).toBe(newer);
  });

  it('brings every IOC back when its first result goes stale, a deferred source at its retryAt', () => {
    const sources = { ABUSEIPDB: ok(0), VIRUSTOTAL: deferred(20_000) };
    const next = nextEnrichAt(sources, TTL, ALL)!.getTime();
    expect(next).toBeGreaterThan(Date.now() + 15_000);
    expect(next).toBeLessThanOrEqual(Date.now() + 20_000);
    expect(nextEnrichAt({ ABUSEIPDB: ok(0) }, TTL, ALL)!.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    // A window that resets now must not make the IOC due this very instant.
    expect(nextEnrichAt({ VIRUSTOTAL: deferred(0) }, TTL, ALL)!.getTime()).toBeGreaterThan(Date.now() + 500);
  });
});
