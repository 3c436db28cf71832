/**
 * A vendor's 429 blocks that source for every instance sharing Redis: after instance A
 * is told "429, retry after 2 s" by AbuseIPDB, neither A nor instance B sends AbuseIPDB a
 * single request until the 2 s have passed, and then B's next lookup goes through.
 * Counted by the requests the fake AbuseIPDB received.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrlOrSkip } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { eventually, sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';

const RETRY_AFTER_S = 2;
const redisUrl = redisUrlOrSkip('a vendor 429 blocks the source on every instance');

describe.skipIf(!redisUrl)('a 429 across two instances sharing Redis', () => {
  let fakes: Fakes;
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    fakes = await startFakes();
    fakes.abuse.retryAfterSeconds = RETRY_AFTER_S;
    db = await createTestDatabase('ioc_429');
    const env = {
      ...fakes.env,
      REDIS_URL: redisUrl!,
      REDIS_KEY_PREFIX: `tw-test-${randomBytes(4).toString('hex')}:`,
      // Only AbuseIPDB's block is under test: no request budget gets in the way.
      ABUSEIPDB_RATE_LIMITS: '',
      VIRUSTOTAL_RATE_LIMITS: '',
    };
    a = await startTestApp('ioc_429_a', env, { database: db });
    b = await startTestApp('ioc_429_b', env, { database: db });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    await fakes?.close();
  });

  const ENRICH = `mutation($v: String!) { enrichIoc(value: $v) {
    value sources { source status errorKind deferred retryAt } } }`;
  const enrich = async (app: TestApp, v: string) => {
    const res = await app.gql<{ enrichIoc: IocJson }>(ENRICH, { v });
    expect(res.errors).toBeUndefined();
    return sourceOf(res.data!.enrichIoc, 'ABUSEIPDB')!;
  };

  it('neither instance asks AbuseIPDB again until Retry-After has passed', async () => {
    const limited = freshIoc('IPV4').value;
    const onB = freshIoc('IPV4').value;
    const onA = freshIoc('IPV4').value;
    fakes.abuse.setScenario(limited, 'rate-limited');
    fakes.abuse.setScenario(onB, 'known-bad');
    fakes.abuse.setScenario(onA, 'known-bad');

    const first = await enrich(a, limited);
    expect(first).toMatchObject({ status: 'ERROR', errorKind: 'RATE_LIMITED', deferred: false });
    expect(fakes.abuse.calls.map((c) => c.value)).toEqual([limited]); // no retry after a 429

    // B has never heard from AbuseIPDB, yet holds back; so does A for another value.
    const heldB = await enrich(b, onB);
    const heldA = await enrich(a, onA);
    for (const held of [heldB, heldA]) {
      expect(held).toMatchObject({ status: 'SKIPPED', errorKind: 'QUOTA_DEFERRED', deferred: true });
      // The block ends with A's Retry-After (whole seconds, so within one second of it).
      expect(Math.abs(Date.parse(held.retryAt!) - Date.parse(first.retryAt!))).toBeLessThanOrEqual(1_000);
    }
    expect(fakes.abuse.calls).toHaveLength(1);

    // B keeps asking; AbuseIPDB hears nothing until the block has passed, then exactly once.
    let polls = 0;
    await eventually(
      async () => {
        polls += 1;
        const s = await enrich(b, onB);
        if (s.status === 'OK') return s;
        expect(s.errorKind).toBe('QUOTA_DEFERRED');
        expect(fakes.abuse.calls).toHaveLength(1);
        return undefined;
      },
      30_000,
      'AbuseIPDB to be asked again after Retry-After',
    );
    expect(polls).toBeGreaterThan(1);
    expect(fakes.abuse.calls.map((c) => c.value)).toEqual([limited, onB]);
    const [blocked, resumed] = fakes.abuse.calls;
    // A lower bound only a fast bug could undercut (10 ms for clock rounding between Redis and Node).
    expect(resumed!.at - blocked!.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 10);
  });
});
