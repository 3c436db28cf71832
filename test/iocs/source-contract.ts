/**
 * The shared contract every SourceAdapter passes (so adapters stay interchangeable), run against its fake
 * upstream for every IOC type it supports. Each case builds a fresh adapter and rate
 * gate and uses fresh IOC values, so cases never depend on order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IOC_TYPES, type IocType, type ParsedIoc } from '../../src/iocs/ioc-types.js';
import { createMemoryRateGate, type RateWindow } from '../../src/iocs/sources/rate-gate.js';
import type {
  RateGate,
  SourceAdapter,
  SourceAdapterFactory,
  SourceAdapterOptions,
  SourceName,
  SourceResult,
} from '../../src/iocs/sources/source-adapter.js';
import { FakeUpstream, startOtherHost, type VendorProfile } from '../fakes/fake-upstream.js';
import { NON_ROUTABLE, freshIoc } from './ioc-samples.js';

export interface ContractSubject {
  name: SourceName;
  factory: SourceAdapterFactory;
  profile: VendorProfile;
  supportedTypes: readonly IocType[];
  /** VirusTotal says "never seen" with a 404 (score null); the others answer with a zero. */
  unknownIsNull: boolean;
  /** Whether the vendor has a known-benign flag. */
  hasWhitelist: boolean;
}

const TIMEOUT_MS = 400;
const MAX_RETRIES = 2;
const FAST_RETRIES = 5;

type Harness = { fake: FakeUpstream; other: Awaited<ReturnType<typeof startOtherHost>> };

const isResultShape = (r: SourceResult, name: SourceName): void => {
  expect(r.source).toBe(name);
  expect(['OK', 'ERROR', 'SKIPPED']).toContain(r.status);
  expect(r.score === null || (Number.isInteger(r.score) && r.score >= 0 && r.score <= 100)).toBe(true);
  expect(Array.isArray(r.categories)).toBe(true);
  expect(typeof r.data).toBe('object');
  expect(r.fetchedAt).toBeInstanceOf(Date);
  expect(r.durationMs).toBeGreaterThanOrEqual(0);
  if (r.status !== 'OK') expect(r.errorKind).toBeDefined();
};

export function runSourceContract(subject: ContractSubject): void {
  const h = {} as Harness;
  beforeAll(async () => {
    h.fake = await FakeUpstream.start(subject.profile);
    h.other = await startOtherHost();
    h.fake.redirectTo = h.other.baseUrl;
  });
  afterAll(async () => {
    await h.fake.close();
    await h.other.close();
  });

  const make = (
    overrides: Partial<SourceAdapterOptions> = {},
    gate: RateGate = createMemoryRateGate({}),
  ): SourceAdapter =>
    subject.factory(
      {
        apiKey: h.fake.validKey,
        baseUrl: h.fake.baseUrl,
        timeoutMs: TIMEOUT_MS,
        connectTimeoutMs: 200,
        maxResponseBytes: 256 * 1024,
        maxRetries: MAX_RETRIES,
        concurrency: 4,
        retryBaseDelayMs: FAST_RETRIES,
        ...overrides,
      },
      gate,
    );
  const lookup = async (adapter: SourceAdapter, ioc: ParsedIoc): Promise<SourceResult> => {
    const result = await adapter.lookup(ioc, new AbortController().signal);
    isResultShape(result, subject.name);
    return result;
  };
  const scenario = (ioc: ParsedIoc, s: Parameters<FakeUpstream['setScenario']>[1]): ParsedIoc => {
    h.fake.setScenario(ioc.value, s);
    return ioc;
  };

  describe(`${subject.name} adapter`, () => {
    it('supports exactly its declared IOC types', () => {
      const adapter = make();
      for (const type of IOC_TYPES)
        expect(adapter.supports(type)).toBe(subject.supportedTypes.includes(type));
    });

    for (const type of IOC_TYPES.filter((t) => !subject.supportedTypes.includes(t))) {
      it(`skips ${type} as UNSUPPORTED without a call`, async () => {
        const before = h.fake.calls.length;
        const r = await lookup(make(), freshIoc(type));
        expect([r.status, r.errorKind]).toEqual(['SKIPPED', 'UNSUPPORTED']);
        expect(h.fake.calls.length).toBe(before);
      });
    }

    it('honours Retry-After (seconds): no call until the reset, then calls again', async () => {
      h.fake.retryAfterSeconds = 1;
      const adapter = make({}, createMemoryRateGate({}));
      const type = subject.supportedTypes[0] ?? 'IPV4';
      const limited = scenario(freshIoc(type), 'rate-limited');
      const first = await lookup(adapter, limited);
      const answered = Date.now();
      expect([first.status, first.errorKind]).toEqual(['ERROR', 'RATE_LIMITED']);
      const calls = h.fake.callsFor(limited.value);
      expect(calls).toHaveLength(1); // no retry on 429
      // One second after the 429 arrived, which was after the call and before the answer.
      const retryAt = first.retryAt?.getTime() ?? 0;
      expect(retryAt).toBeGreaterThanOrEqual((calls[0]?.at ?? Infinity) + 1_000);
      expect(retryAt).toBeLessThanOrEqual(answered + 1_000);

      const other = freshIoc(type);
      const held = await lookup(adapter, other);
      expect([held.status, held.errorKind]).toEqual(['SKIPPED', 'QUOTA_DEFERRED']);
      // The same instant, up to the clock reads between the 429's answer and the gate's block.
      expect(Math.abs((held.retryAt?.getTime() ?? 0) - retryAt)).toBeLessThanOrEqual(5);
      expect(h.fake.callsFor(other.value)).toHaveLength(0);

      // Ask until the gate opens: every deferred lookup must leave the vendor alone.
      const results: SourceResult[] = [];
      await expect
        .poll(async () => (results.push(await lookup(adapter, other)), results.at(-1)?.status), {
          timeout: 10_000,
          interval: 50,
        })
        .toBe('OK');
      expect(results.slice(0, -1).every((r) => r.errorKind === 'QUOTA_DEFERRED')).toBe(true);
      expect(Date.now()).toBeGreaterThanOrEqual(retryAt);
      expect(h.fake.callsFor(other.value)).toHaveLength(1);
    });

    it('honours Retry-After given as an HTTP date', async () => {
      h.fake.retryAfterSeconds = 120;
      const before = Date.now();
      const r = await lookup(
        make(),
        scenario(freshIoc(subject.supportedTypes[0] ?? 'IPV4'), 'rate-limited-date'),
      );
      const after = Date.now();
      expect(r.errorKind).toBe('RATE_LIMITED');
      // The fake writes "now + 120 s" as an HTTP date, which drops the milliseconds.
      const retryAt = r.retryAt?.getTime() ?? 0;
      expect(retryAt % 1000).toBe(0);
      expect(retryAt).toBeGreaterThan(before + 120_000 - 1_000);
      expect(retryAt).toBeLessThanOrEqual(after + 120_000);
    });

    it('defers (not fails) once its request budget is spent, making no extra calls', async () => {
      const windows: RateWindow[] = [{ points: 2, durationSeconds: 60 }];
      const adapter = make({}, createMemoryRateGate({ [subject.name]: windows }));
      const type = subject.supportedTypes[0] ?? 'IPV4';
      const before = h.fake.calls.length;
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => lookup(adapter, freshIoc(type))));
      expect(results.filter((r) => r.status === 'OK')).toHaveLength(2);
      const deferred = results.filter((r) => r.errorKind === 'QUOTA_DEFERRED');
      expect(deferred).toHaveLength(3);
      for (const r of deferred) expect(r.status).toBe('SKIPPED');
      expect(h.fake.calls.length - before).toBe(2);
    });

    it('keeps at most `concurrency` requests in flight', async () => {
      h.fake.maxInFlight = 0;
      const adapter = make({ concurrency: 2, timeoutMs: 5_000 });
      const type = subject.supportedTypes[0] ?? 'IPV4';
      const results = await Promise.all(
        [1, 2, 3, 4, 5, 6].map(() => lookup(adapter, scenario(freshIoc(type), 'delayed'))),
      );
      expect(results.every((r) => r.status === 'OK')).toBe(true);
      expect(h.fake.maxInFlight).toBe(2);
    });
  });

  for (const type of subject.supportedTypes) {
    describe(`${subject.name} × ${type}`, () => {
      it('known-bad: OK, high score, categories, key facts, raw kept, key sent in the header', async () => {
        const ioc = scenario(freshIoc(type), 'known-bad');
        const r = await lookup(make(), ioc);
        expect(r.status).toBe('OK');
        expect(r.score).toBeGreaterThanOrEqual(50);
        expect(r.categories.length).toBeGreaterThan(0);
        expect(Object.keys(r.data).length).toBeGreaterThan(0);
        expect(r.raw).toBeDefined();
        expect(r.evidence?.known).toBe(true);
        const calls = h.fake.callsFor(ioc.value);
        expect(calls).toHaveLength(1);
        expect(calls[0]?.headers[subject.profile.keyHeader]).toBe(h.fake.validKey);
        expect(calls[0]?.search).not.toContain(h.fake.validKey);
      });

      it('clean: OK with a low score', async () => {
        const r = await lookup(make(), scenario(freshIoc(type), 'clean'));
        expect(r.status).toBe('OK');
        expect(r.score).toBe(0);
        expect(r.categories).toEqual([]);
      });

      it(`unknown: OK with ${subject.unknownIsNull ? 'a null score (unknown, not clean)' : 'a zero score'}`, async () => {
        const r = await lookup(make(), scenario(freshIoc(type), 'unknown'));
        expect(r.status).toBe('OK');
        expect(r.score).toBe(subject.unknownIsNull ? null : 0);
        expect(r.evidence?.known).toBe(false);
      });

      it(`whitelisted: ${subject.hasWhitelist ? 'known-benign evidence' : 'no whitelist flag, just clean'}`, async () => {
        const r = await lookup(make(), scenario(freshIoc(type), 'whitelisted'));
        expect(r.status).toBe('OK');
        expect(r.evidence?.whitelisted ?? false).toBe(subject.hasWhitelist);
      });

      it('wrong key: ERROR/AUTH with the vendor text, no retry, key not echoed', async () => {
        const ioc = freshIoc(type);
        const r = await lookup(make({ apiKey: 'definitely-wrong-key' }), ioc);
        expect([r.status, r.errorKind]).toEqual(['ERROR', 'AUTH']);
        expect(r.error).toMatch(/40[13]/);
        expect(r.error).not.toContain('definitely-wrong-key');
        expect(h.fake.callsFor(ioc.value)).toHaveLength(1);
      });

      it('key scenario: a key the vendor throttles gets RATE_LIMITED', async () => {
        h.fake.setKeyScenario('throttled-key', 'rate-limited');
        const r = await lookup(make({ apiKey: 'throttled-key' }), freshIoc(type));
        expect(r.errorKind).toBe('RATE_LIMITED');
      });

      it('missing key: SKIPPED/NOT_CONFIGURED without a call', async () => {
        const ioc = freshIoc(type);
        const r = await lookup(make({ apiKey: undefined }), ioc);
        expect([r.status, r.errorKind]).toEqual(['SKIPPED', 'NOT_CONFIGURED']);
        expect(h.fake.callsFor(ioc.value)).toHaveLength(0);
      });

      const privateValue = NON_ROUTABLE[type];
      if (privateValue !== undefined) {
        it('non-routable value: SKIPPED/NOT_ROUTABLE without a call', async () => {
          const before = h.fake.calls.length;
          const r = await lookup(make(), {
            type,
            value: privateValue,
            routable: false,
            nonRoutableReason: 'private',
          });
          expect([r.status, r.errorKind]).toEqual(['SKIPPED', 'NOT_ROUTABLE']);
          expect(h.fake.calls.length).toBe(before);
        });
      }

      it('5xx once then success: retried, OK', async () => {
        const ioc = scenario(freshIoc(type), 'flaky');
        const r = await lookup(make(), ioc);
        expect(r.status).toBe('OK');
        expect(h.fake.callsFor(ioc.value)).toHaveLength(2);
      });

      it('5xx every time: ERROR/UPSTREAM after bounded retries', async () => {
        const ioc = scenario(freshIoc(type), 'down');
        const r = await lookup(make(), ioc);
        expect([r.status, r.errorKind]).toEqual(['ERROR', 'UPSTREAM']);
        expect(h.fake.callsFor(ioc.value)).toHaveLength(1 + MAX_RETRIES);
      });

      it('slower than the timeout: ERROR/TIMEOUT, the whole budget spent on one call', async () => {
        // The fake answers after 3 s, far past the 400 ms budget: an answer would mean the budget was ignored.
        const ioc = scenario(freshIoc(type), 'slow');
        const r = await lookup(make(), ioc);
        expect([r.status, r.errorKind, r.error]).toEqual(['ERROR', 'TIMEOUT', 'timed out (request)']);
        expect(h.fake.callsFor(ioc.value)).toHaveLength(1);
      });

      it('malformed JSON and an undocumented shape: ERROR/MALFORMED', async () => {
        const bad = await lookup(make(), scenario(freshIoc(type), 'malformed'));
        expect([bad.status, bad.errorKind]).toEqual(['ERROR', 'MALFORMED']);
        const odd = await lookup(make(), scenario(freshIoc(type), 'wrong-shape'));
        expect([odd.status, odd.errorKind]).toEqual(['ERROR', 'MALFORMED']);
      });

      it('oversized body: ERROR/TOO_LARGE and the download is abandoned', async () => {
        const sentBefore = h.fake.oversizedSent.length;
        const r = await lookup(make(), scenario(freshIoc(type), 'oversized'));
        expect([r.status, r.errorKind]).toEqual(['ERROR', 'TOO_LARGE']);
        await expect.poll(() => h.fake.oversizedSent[sentBefore]?.completed).toBe(false);
        const sent = h.fake.oversizedSent[sentBefore]?.bytes ?? Infinity;
        expect(sent).toBeLessThan(h.fake.oversizedTotalBytes / 4);
      });

      it('redirect to another host: not followed, ERROR/UPSTREAM', async () => {
        const before = h.other.calls.length;
        const r = await lookup(make(), scenario(freshIoc(type), 'redirect'));
        expect([r.status, r.errorKind]).toEqual(['ERROR', 'UPSTREAM']);
        expect(r.error).toContain('redirect');
        expect(h.other.calls.length).toBe(before);
      });
    });
  }

  it(`${subject.name}: the redirect target is reachable, so "no call" above is meaningful`, async () => {
    const response = await fetch(h.other.baseUrl);
    expect(response.status).toBe(200);
  });
}
