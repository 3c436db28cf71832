/**
 * The per-source summary rules with fixed timestamps and exact values: what is stored
 * from a source result and read back, when each stored result expires, how a pass
 * merges into what is stored, when the collector comes back, and the record the API
 * serves.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StoredIoc, StoredSource } from '../../src/iocs/ioc-record.js';
import {
  expiresAt,
  fromStored,
  fuseStored,
  mergeSources,
  nextEnrichAt,
  staleSources,
  toRecord,
  toStored,
} from '../../src/iocs/ioc-summary.js';
import type { SourceResult } from '../../src/iocs/sources/source-adapter.js';

afterEach(() => vi.useRealTimers());

const TTL = { ok: 3600, error: 60, skipped: 600 };
const ALL = new Set(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'] as const);
const T = Date.UTC(2026, 5, 1, 12); // fetchedAt of every stored result below
const iso = (ms: number) => new Date(ms).toISOString();

const stored = (over: Partial<StoredSource> = {}): StoredSource => ({
  status: 'OK',
  score: 80,
  categories: ['SCAN'],
  data: { reports: 3 },
  durationMs: 5,
  fetchedAt: iso(T),
  ...over,
});
const heldBack = (kind: 'QUOTA_DEFERRED' | 'RATE_LIMITED', retryAt: number, fetchedAt = T + 1000) =>
  stored({
    status: 'SKIPPED',
    score: null,
    categories: [],
    data: {},
    errorKind: kind,
    error: 'held back',
    retryAt: iso(retryAt),
    fetchedAt: iso(fetchedAt),
  });

describe('toStored / fromStored', () => {
  it('stores every field of a full result as JSON-safe values and reads it back', () => {
    const result: SourceResult = {
      source: 'ABUSEIPDB',
      status: 'ERROR',
      score: 12,
      categories: ['BRUTEFORCE'],
      data: { k: 1 },
      raw: { big: 'not stored here' },
      error: 'HTTP 429',
      errorKind: 'RATE_LIMITED',
      retryAt: new Date(T + 60_000),
      durationMs: 42,
      fetchedAt: new Date(T),
      evidence: { whitelisted: true, known: true },
    };
    const s = toStored(result, 'enr-1');
    expect(s).toStrictEqual({
      status: 'ERROR',
      score: 12,
      categories: ['BRUTEFORCE'],
      data: { k: 1 },
      error: 'HTTP 429',
      errorKind: 'RATE_LIMITED',
      retryAt: iso(T + 60_000),
      evidence: { whitelisted: true, known: true },
      durationMs: 42,
      fetchedAt: iso(T),
      enrichmentId: 'enr-1',
    });
    const { raw: _raw, ...withoutRaw } = result;
    expect(fromStored('ABUSEIPDB', s)).toStrictEqual(withoutRaw);
  });

  it('leaves absent optional fields absent (not undefined)', () => {
    const result: SourceResult = {
      source: 'OTX',
      status: 'OK',
      score: null,
      categories: [],
      data: {},
      durationMs: 0,
      fetchedAt: new Date(T),
    };
    const s = toStored(result);
    expect(Object.keys(s).sort()).toEqual([
      'categories',
      'data',
      'durationMs',
      'fetchedAt',
      'score',
      'status',
    ]);
    expect(Object.keys(fromStored('OTX', s)).sort()).toEqual([
      'categories',
      'data',
      'durationMs',
      'fetchedAt',
      'score',
      'source',
      'status',
    ]);
  });
});

describe('expiresAt', () => {
  it('serves OK for ttl.ok, ERROR for ttl.error, SKIPPED for ttl.skipped after fetchedAt', () => {
    expect(expiresAt(stored(), TTL, true)).toBe(T + 3_600_000);
    expect(expiresAt(stored({ status: 'ERROR', errorKind: 'TIMEOUT' }), TTL, true)).toBe(T + 60_000);
    expect(expiresAt(stored({ status: 'SKIPPED' }), TTL, true)).toBe(T + 600_000);
  });

  it('a result held back by quota or a 429 expires at its retryAt', () => {
    expect(expiresAt(heldBack('QUOTA_DEFERRED', T + 5_000, T), TTL, true)).toBe(T + 5_000);
    expect(expiresAt(heldBack('RATE_LIMITED', T + 7_000, T), TTL, true)).toBe(T + 7_000);
  });

  it('a retryAt on another kind of failure, or a 429 without one, follows the TTL', () => {
    const timeout = stored({ status: 'ERROR', errorKind: 'TIMEOUT', retryAt: iso(T + 5_000) });
    expect(expiresAt(timeout, TTL, true)).toBe(T + 60_000);
    expect(expiresAt(stored({ status: 'ERROR', errorKind: 'RATE_LIMITED' }), TTL, true)).toBe(T + 60_000);
  });

  it('unsupported and non-routable never expire; not configured expires once a key is configured', () => {
    expect(expiresAt(stored({ status: 'SKIPPED', errorKind: 'UNSUPPORTED' }), TTL, true)).toBe(Infinity);
    expect(expiresAt(stored({ status: 'SKIPPED', errorKind: 'NOT_ROUTABLE' }), TTL, true)).toBe(Infinity);
    const noKey = stored({ status: 'SKIPPED', errorKind: 'NOT_CONFIGURED' });
    expect(expiresAt(noKey, TTL, false)).toBe(Infinity);
    expect(expiresAt(noKey, TTL, true)).toBe(0);
  });
});

describe('staleSources', () => {
  it('a result is stale from the millisecond it expires; a missing source always', () => {
    const sources = { ABUSEIPDB: stored(), OTX: stored({ status: 'ERROR', errorKind: 'UPSTREAM' }) };
    expect(staleSources(sources, T + 59_999, TTL, ALL)).toEqual(['VIRUSTOTAL']);
    expect(staleSources(sources, T + 60_000, TTL, ALL)).toEqual(['OTX', 'VIRUSTOTAL']);
    expect(staleSources(sources, T + 3_600_000, TTL, ALL)).toEqual(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL']);
  });

  it('asks a source again when it has been configured since', () => {
    const sources = {
      ABUSEIPDB: stored(),
      OTX: stored({ status: 'SKIPPED', errorKind: 'NOT_CONFIGURED' }),
      VIRUSTOTAL: stored(),
    };
    expect(staleSources(sources, T, TTL, ALL)).toEqual(['OTX']);
    expect(staleSources(sources, T, TTL, new Set(['ABUSEIPDB', 'VIRUSTOTAL'] as const))).toEqual([]);
  });
});

describe('mergeSources', () => {
  it('takes the fresh result per source and keeps the others; the current summary is not changed', () => {
    const current = { ABUSEIPDB: stored(), OTX: stored({ score: 10 }) };
    const snapshot = structuredClone(current);
    const fresh = { OTX: stored({ score: 20, fetchedAt: iso(T + 1) }), VIRUSTOTAL: stored({ score: 30 }) };
    expect(mergeSources(current, fresh)).toStrictEqual({
      ABUSEIPDB: current.ABUSEIPDB,
      OTX: fresh.OTX,
      VIRUSTOTAL: fresh.VIRUSTOTAL,
    });
    expect(current).toStrictEqual(snapshot);
  });

  it('an older result loses; one fetched at the same millisecond wins', () => {
    const current = { OTX: stored({ score: 10 }) };
    expect(mergeSources(current, { OTX: stored({ score: 20, fetchedAt: iso(T - 1) }) }).OTX?.score).toBe(10);
    expect(mergeSources(current, { OTX: stored({ score: 20 }) }).OTX?.score).toBe(20);
  });

  it.each(['QUOTA_DEFERRED', 'RATE_LIMITED'] as const)(
    'a refresh held back (%s) keeps the last OK answer, marked with why and until when',
    (kind) => {
      const old = stored({ score: 90, enrichmentId: 'e1' });
      expect(
        mergeSources({ VIRUSTOTAL: old }, { VIRUSTOTAL: heldBack(kind, T + 30_000) }).VIRUSTOTAL,
      ).toStrictEqual({
        ...old,
        errorKind: kind,
        error: 'refresh held back',
        retryAt: iso(T + 30_000),
      });
      const quiet = heldBack(kind, T + 30_000);
      delete quiet.error;
      expect(mergeSources({ VIRUSTOTAL: old }, { VIRUSTOTAL: quiet }).VIRUSTOTAL).toStrictEqual({
        ...old,
        errorKind: kind,
        retryAt: iso(T + 30_000),
      });
    },
  );

  it('only an OK answer is kept, and only for a refresh held back until a known time', () => {
    const failed = stored({ status: 'ERROR', errorKind: 'UPSTREAM', score: null });
    const deferred = heldBack('QUOTA_DEFERRED', T + 30_000);
    expect(mergeSources({ OTX: failed }, { OTX: deferred }).OTX).toBe(deferred);
    const timeout = stored({
      status: 'ERROR',
      errorKind: 'TIMEOUT',
      fetchedAt: iso(T + 1),
      retryAt: iso(T + 9),
    });
    expect(mergeSources({ OTX: stored() }, { OTX: timeout }).OTX).toBe(timeout);
    const noRetryAt = heldBack('QUOTA_DEFERRED', T);
    delete noRetryAt.retryAt;
    expect(mergeSources({ OTX: stored() }, { OTX: noRetryAt }).OTX).toBe(noRetryAt);
  });
});

describe('nextEnrichAt (fake clock)', () => {
  const now = T + 10_000;
  const setNow = () => vi.useFakeTimers({ toFake: ['Date'], now });

  it('an IOC comes back when its first source expires', () => {
    setNow();
    const sources = { ABUSEIPDB: stored(), OTX: stored({ status: 'ERROR', errorKind: 'AUTH' }) };
    expect(nextEnrichAt(sources, TTL, ALL)).toEqual(new Date(T + 60_000));
    expect(nextEnrichAt({ ABUSEIPDB: stored() }, TTL, ALL)).toEqual(new Date(T + 3_600_000));
  });

  it.each(['QUOTA_DEFERRED', 'RATE_LIMITED', 'TIMEOUT', 'UPSTREAM', 'TOO_LARGE', 'MALFORMED'] as const)(
    'a %s source brings it back at its retryAt or error TTL, before the answered one expires',
    (kind) => {
      setNow();
      const sources = {
        ABUSEIPDB: stored(),
        OTX: stored({ status: 'ERROR', errorKind: kind, retryAt: iso(T + 20_000) }),
      };
      const expected = kind === 'QUOTA_DEFERRED' || kind === 'RATE_LIMITED' ? T + 20_000 : T + 60_000;
      expect(nextEnrichAt(sources, TTL, ALL)).toEqual(new Date(expected));
    },
  );

  it('permanent skips never bring it back; nothing stored, nothing to revisit', () => {
    setNow();
    const skipped = { VIRUSTOTAL: stored({ status: 'SKIPPED', errorKind: 'UNSUPPORTED' }) };
    expect(nextEnrichAt(skipped, TTL, ALL)).toBeNull();
    expect(nextEnrichAt({}, TTL, ALL)).toBeNull();
  });

  it('is never less than one second away', () => {
    setNow();
    const at = (ms: number) => ({ OTX: heldBack('QUOTA_DEFERRED', ms) });
    expect(nextEnrichAt(at(now + 999), TTL, ALL)).toEqual(new Date(now + 1_000));
    expect(nextEnrichAt(at(now - 5_000), TTL, ALL)).toEqual(new Date(now + 1_000));
    expect(nextEnrichAt(at(now + 1_001), TTL, ALL)).toEqual(new Date(now + 1_001));
  });
});

describe('toRecord', () => {
  const ioc = (over: Partial<StoredIoc> = {}): StoredIoc => ({
    id: 'id-1',
    type: 'IPV4',
    value: '203.0.113.5',
    riskScore: 55,
    riskLevel: 'MEDIUM',
    categories: ['SCAN'],
    sources: {},
    watched: true,
    firstSeenAt: new Date(T - 1000),
    lastSeenAt: new Date(T),
    lastEnrichedAt: new Date(T),
    nextEnrichAt: new Date(T + 5000),
    ...over,
  });
  // Dates or ISO strings: compared as instants.
  const instant = (v: unknown) => (v === null ? null : new Date(v as string).toISOString());

  it('serves every stored source with nulls for what is absent, deferred only for QUOTA_DEFERRED', () => {
    const record = toRecord(
      ioc({
        sources: {
          ABUSEIPDB: stored({ enrichmentId: 'e1' }),
          VIRUSTOTAL: heldBack('QUOTA_DEFERRED', T + 9_000),
          OTX: heldBack('RATE_LIMITED', T + 8_000),
        },
      }),
    );
    expect(
      record.sources.map((s) => ({ ...s, retryAt: instant(s.retryAt), fetchedAt: instant(s.fetchedAt) })),
    ).toStrictEqual([
      {
        source: 'ABUSEIPDB',
        status: 'OK',
        score: 80,
        categories: ['SCAN'],
        data: { reports: 3 },
        error: null,
        errorKind: null,
        retryAt: null,
        deferred: false,
        durationMs: 5,
        fetchedAt: iso(T),
      },
      {
        source: 'OTX',
        status: 'SKIPPED',
        score: null,
        categories: [],
        data: {},
        error: 'held back',
        errorKind: 'RATE_LIMITED',
        retryAt: iso(T + 8_000),
        deferred: false,
        durationMs: 5,
        fetchedAt: iso(T + 1000),
      },
      {
        source: 'VIRUSTOTAL',
        status: 'SKIPPED',
        score: null,
        categories: [],
        data: {},
        error: 'held back',
        errorKind: 'QUOTA_DEFERRED',
        retryAt: iso(T + 9_000),
        deferred: true,
        durationMs: 5,
        fetchedAt: iso(T + 1000),
      },
    ]);
    expect(record).toMatchObject({
      id: 'id-1',
      type: 'IPV4',
      value: '203.0.113.5',
      riskScore: 55,
      riskLevel: 'MEDIUM',
      categories: ['SCAN'],
      watched: true,
      firstSeenAt: new Date(T - 1000),
      lastSeenAt: new Date(T),
      lastEnrichedAt: new Date(T),
      nextEnrichAt: new Date(T + 5000),
      unicodeValue: null,
      lookalikeOf: null,
    });
  });

  it('adds raw bodies only for debug: by enrichment id, null without one', () => {
    const sources = {
      ABUSEIPDB: stored({ enrichmentId: 'e1' }),
      OTX: stored(),
      VIRUSTOTAL: stored({ enrichmentId: 'e9' }),
    };
    const raws = new Map([['e1', { body: 1 }]]);
    expect(toRecord(ioc({ sources }), raws).sources.map((s) => s.raw)).toEqual([{ body: 1 }, null, null]);
    expect(toRecord(ioc({ sources })).sources.every((s) => !('raw' in s))).toBe(true);
  });

  it('explains the score as of the last enrichment (a 30-day-old answer counts decayed then)', () => {
    const sources = { ABUSEIPDB: stored({ fetchedAt: iso(T - 30 * 86_400_000) }) };
    const record = toRecord(ioc({ sources, lastEnrichedAt: new Date(T) }));
    expect(record.scoreBreakdown).toEqual(fuseStored(sources, new Date(T)).breakdown);
    expect(record.scoreBreakdown).not.toEqual(fuseStored(sources, new Date(T - 30 * 86_400_000)).breakdown);
    vi.useFakeTimers({ toFake: ['Date'], now: T - 30 * 86_400_000 });
    // Never enriched: as of now.
    expect(toRecord(ioc({ sources, lastEnrichedAt: null })).scoreBreakdown).toEqual(
      fuseStored(sources, new Date(T - 30 * 86_400_000)).breakdown,
    );
  });

  it('names the domain a punycode lookalike imitates', () => {
    const record = toRecord(ioc({ type: 'DOMAIN', value: 'xn--ggle-55da.com' }));
    expect(record).toMatchObject({ unicodeValue: 'gооgle.com', lookalikeOf: 'google.com' });
  });
});
