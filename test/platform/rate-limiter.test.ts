import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src/platform/errors.js';
import { freePort } from '../../src/platform/free-port.js';
import { createFailureBudget, createRequestRateLimiter, leaseSize } from '../../src/platform/rate-limiter.js';
import { redisUrlOrSkip } from '../helpers/services.js';

const redisUrl = redisUrlOrSkip('rate limiter leases from the shared Redis budget');
const clients: Redis[] = [];
afterAll(() => Promise.all(clients.map((c) => c.quit())));
afterEach(() => vi.useRealTimers());

/** The retry hint `p` is refused with (seconds), or 'accepted'. */
const hint = (p: Promise<void>) =>
  p.then(
    () => 'accepted',
    (err: unknown) => (err as AppError).details.retryAfterSeconds,
  );

/** Consumes `n` times (in parallel when `parallel`), returning how many were accepted. */
async function spend(
  limiter: { consume(key: string): Promise<void> },
  key: string,
  n: number,
  parallel = false,
) {
  let accepted = 0;
  const one = async () => {
    try {
      await limiter.consume(key);
      accepted++;
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('RATE_LIMITED');
    }
  };
  if (parallel) await Promise.all(Array.from({ length: n }, one));
  else for (let i = 0; i < n; i++) await one();
  return accepted;
}

describe('leaseSize', () => {
  it('leases only where the stranded points stay under 2 % of the budget', () => {
    expect(leaseSize(5)).toBe(1);
    expect(leaseSize(99)).toBe(1);
    expect(leaseSize(100)).toBe(2);
    expect(leaseSize(600)).toBe(12);
    expect(leaseSize(5_000)).toBe(100);
    expect(leaseSize(1_000_000)).toBe(100);
    // floor(points / 50), between 1 and 100
    expect([0, 50, 149, 150, 450, 499, 500, 549].map(leaseSize)).toEqual([1, 1, 2, 3, 9, 9, 10, 10]);
  });
});

describe('request rate limiter in process', () => {
  it('allows exactly the budget per key and names the whole window as the retry hint', async () => {
    const limiter = createRequestRateLimiter({ points: 5, windowSeconds: 60, prefix: 'unused:' });
    expect(limiter.mode).toBe('in-process');
    expect(await spend(limiter, 'a', 7)).toBe(5);
    expect(await spend(limiter, 'b', 7)).toBe(5);
    // The window opened a moment ago: 60 s rounded up.
    await expect(limiter.consume('a')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      details: { retryAfterSeconds: 60 },
    });
  });
});

describe('request rate limiter in process, exactly', () => {
  it('a request may cost several points', async () => {
    const limiter = createRequestRateLimiter({ points: 5, windowSeconds: 60, prefix: 'unused:' });
    expect(await hint(limiter.consume('k', 3))).toBe('accepted');
    expect(await hint(limiter.consume('k', 2))).toBe('accepted');
    expect(await hint(limiter.consume('k'))).toBe(60);
    expect(await hint(limiter.consume('other', 5))).toBe('accepted');
    expect(await hint(limiter.consume('other2', 6))).toBe(60);
  });

  it('the retry hint is the rest of the window in whole seconds, rounded up, at least 1', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.now();
    const limiter = createRequestRateLimiter({ points: 1, windowSeconds: 60, prefix: 'unused:' });
    await limiter.consume('k');
    vi.setSystemTime(t0 + 57_000);
    expect(await hint(limiter.consume('k'))).toBe(3);
    vi.setSystemTime(t0 + 57_001);
    expect(await hint(limiter.consume('k'))).toBe(3);
    vi.setSystemTime(t0 + 59_999);
    expect(await hint(limiter.consume('k'))).toBe(1);
  });
});

describe('request rate limiter in process, leased', () => {
  it('spends leased points without I/O through tryConsume, and still allows exactly the budget', async () => {
    const limiter = createRequestRateLimiter({ points: 505, windowSeconds: 60, prefix: 'unused:' });
    expect(leaseSize(505)).toBe(10);
    expect(limiter.tryConsume('k')).toBe(false); // nothing in hand yet, nothing counted
    await limiter.consume('k'); // leases 10, spends 1
    let fast = 0;
    while (limiter.tryConsume('k')) fast++;
    expect(fast).toBe(9);
    // 10 spent; the rest of the 505 through both paths, then refused.
    let admitted = 10;
    for (let i = 0; i < 600; i++) {
      if (limiter.tryConsume('k')) admitted++;
      else if ((await hint(limiter.consume('k'))) === 'accepted') admitted++;
    }
    expect(admitted).toBe(505);
    expect(limiter.tryConsume('k')).toBe(false);
    expect(limiter.tryConsume('other')).toBe(false);
  });

  it('never answers from a lease of a window that has ended', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const t0 = Date.now();
      const limiter = createRequestRateLimiter({ points: 500, windowSeconds: 60, prefix: 'unused:' });
      await limiter.consume('k');
      expect(limiter.tryConsume('k')).toBe(true);
      vi.setSystemTime(t0 + 60_001);
      expect(limiter.tryConsume('k')).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('request rate limiter off', () => {
  it('with 0 points every request passes', async () => {
    const limiter = createRequestRateLimiter({ points: 0, windowSeconds: 60, prefix: 'unused:' });
    expect(limiter.mode).toBe('off');
    expect(await spend(limiter, 'k', 1000)).toBe(1000);
    expect(limiter.tryConsume('k')).toBe(true);
  });
});

describe('failure budget in process', () => {
  it('is over budget from exactly `points` failures on, per key, until the window ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.now();
    const budget = createFailureBudget({ points: 3, windowSeconds: 60, prefix: 'unused:' });
    expect(await budget.retryAfter('a')).toBe(0);
    await budget.record('a');
    await budget.record('a');
    expect(await budget.retryAfter('a')).toBe(0);
    await budget.record('a');
    expect(await budget.retryAfter('a')).toBe(60);
    await budget.record('a'); // over budget: counted, not thrown
    expect(await budget.retryAfter('b')).toBe(0);
    vi.setSystemTime(t0 + 58_500);
    expect(await budget.retryAfter('a')).toBe(2);
    vi.setSystemTime(t0 + 59_999);
    expect(await budget.retryAfter('a')).toBe(1);
  });
});

describe.runIf(redisUrl)('request rate limiter on Redis', () => {
  // Ready before use: a limiter whose Redis is not ready uses its in-memory insurance.
  const connect = async () => {
    const c = new Redis(redisUrl!);
    clients.push(c);
    await c.ping();
    return c;
  };
  const prefix = () => `tw-test-${Math.random().toString(36).slice(2)}:`;

  it('takes points ten at a time, and still allows exactly the budget', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 500, windowSeconds: 60, prefix: p }, redis);
    expect(await spend(limiter, 'k', 15)).toBe(15);
    expect(await redis.get(`${p}rl:k`)).toBe('20'); // two leases, not fifteen calls
    expect(await spend(limiter, 'k', 600)).toBe(485);
    // Refused locally from now on: the counter does not move.
    const counted = await redis.get(`${p}rl:k`);
    expect(await spend(limiter, 'k', 20)).toBe(0);
    expect(await redis.get(`${p}rl:k`)).toBe(counted);
  });

  it('asks Redis once per lease even when many requests arrive together', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 600, windowSeconds: 60, prefix: p }, redis);
    // A lease of 12 (600 / 50): 120 requests together take exactly 10 leases.
    expect(await spend(limiter, 'k', 120, true)).toBe(120);
    expect(await redis.get(`${p}rl:k`)).toBe('120');
  });

  it('shares one budget between instances, within the points they may hold unspent', async () => {
    const p = prefix();
    const a = createRequestRateLimiter({ points: 600, windowSeconds: 60, prefix: p }, await connect());
    const b = createRequestRateLimiter({ points: 600, windowSeconds: 60, prefix: p }, await connect());
    const [fromA, fromB] = await Promise.all([spend(a, 'k', 400, true), spend(b, 'k', 400, true)]);
    expect(fromA + fromB).toBeLessThanOrEqual(600);
    expect(fromA + fromB).toBeGreaterThanOrEqual(600 - 2 * 11); // each may hold lease - 1 = 11
  });

  it('is exact for small budgets, and leased points expire with their window', async () => {
    const redis = await connect();
    const p = prefix();
    const small = createRequestRateLimiter({ points: 5, windowSeconds: 60, prefix: p }, redis);
    expect(await spend(small, 's', 6)).toBe(5);
    await expect(small.consume('s')).rejects.toMatchObject({ details: { retryAfterSeconds: 60 } });
    const short = createRequestRateLimiter({ points: 500, windowSeconds: 1, prefix: p }, redis);
    expect(await spend(short, 'w', 3)).toBe(3);
    // Wait for the 1 s window to end: Redis expires the counter with it.
    for (let i = 0; i < 100 && (await redis.get(`${p}rl:w`)) !== null; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await redis.get(`${p}rl:w`)).toBeNull(); // the window is over…
    // …and, once this instance's copy of the window has ended too (at most the 7 points
    // still in hand), the new window starts with a new lease of 10.
    for (let inHand = 0; inHand <= 7 && (await redis.get(`${p}rl:w`)) === null; inHand++) {
      expect(await spend(short, 'w', 1)).toBe(1);
    }
    expect(await redis.get(`${p}rl:w`)).toBe('10');
  });
  it('hands back a lease that does not fit: a budget of 505 admits exactly 505', async () => {
    // 505 is not a multiple of the lease (10): after 50 leases the 51st does not fit, is
    // returned, and the last 5 points are taken one at a time.
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 505, windowSeconds: 60, prefix: p }, redis);
    expect(leaseSize(505)).toBe(10);
    expect(await spend(limiter, 'k', 520)).toBe(505);
    // Refused until the 60 s window that opened a moment ago ends.
    await expect(limiter.consume('k')).rejects.toMatchObject({ details: { retryAfterSeconds: 60 } });
  });

  it('keeps one budget per key: a spent key does not refuse another', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 505, windowSeconds: 60, prefix: p }, redis);
    expect(await spend(limiter, 'a', 510)).toBe(505);
    expect(await spend(limiter, 'b', 7)).toBe(7);
    expect(await redis.get(`${p}rl:b`)).toBe('10');
  });

  it('spends a lease to its last point before asking for the next', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 500, windowSeconds: 60, prefix: p }, redis);
    expect(await spend(limiter, 'k', 10)).toBe(10);
    expect(await redis.get(`${p}rl:k`)).toBe('10');
    expect(await spend(limiter, 'k', 1)).toBe(1);
    expect(await redis.get(`${p}rl:k`)).toBe('20');
  });

  it('a request costing a lease or more is taken exactly, without a lease', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 500, windowSeconds: 60, prefix: p }, redis);
    await limiter.consume('k', 25);
    expect(await redis.get(`${p}rl:k`)).toBe('25');
    await limiter.consume('k', 3); // under a lease: leases 10, spends 3
    expect(await redis.get(`${p}rl:k`)).toBe('35');
  });

  it('names the rest of the window when refusing from memory, rounded up', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 500, windowSeconds: 60, prefix: p }, redis);
    expect(limiter.mode).toBe('redis');
    expect(await spend(limiter, 'k', 500)).toBe(500);
    // The first refusal comes from Redis: the rest of its window, in whole seconds.
    const first = await hint(limiter.consume('k'));
    expect(first).toBeGreaterThanOrEqual(Math.ceil((await redis.pttl(`${p}rl:k`)) / 1000));
    expect(first).toBeLessThanOrEqual(60);
    // Refused locally from now on, until the window Redis named ends: move the local
    // clock to 2.5 s and 0.5 s before that end.
    const endsIn = await redis.pttl(`${p}rl:k`);
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.now();
    vi.setSystemTime(t0 + endsIn - 2_500);
    expect(await hint(limiter.consume('k'))).toBe(3);
    vi.setSystemTime(t0 + endsIn - 500);
    expect(await hint(limiter.consume('k'))).toBe(1);
    // 50 leases (500), the 51st handed back, the one refused request counted (501);
    // refusals from memory count nothing.
    expect(await redis.get(`${p}rl:k`)).toBe('501');
  });

  it('a key refused until its window ends is served again in the next window', async () => {
    const redis = await connect();
    const p = prefix();
    const limiter = createRequestRateLimiter({ points: 100, windowSeconds: 1, prefix: p }, redis);
    expect(await spend(limiter, 'k', 101)).toBe(100);
    // Served again within a few windows (the bound only catches "refused for ever").
    const deadline = Date.now() + 10_000;
    while ((await hint(limiter.consume('k'))) !== 'accepted') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('uses the in-process budget while Redis is not connected, instead of waiting for it', async () => {
    // Nothing listens there: the client keeps reconnecting (ioredis' default), so a
    // limiter that waited for it would hang.
    const offline = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true });
    offline.on('error', () => undefined);
    const limiter = createRequestRateLimiter({ points: 5, windowSeconds: 60, prefix: prefix() }, offline);
    expect(await spend(limiter, 'k', 6)).toBe(5);
    const budget = createFailureBudget({ points: 1, windowSeconds: 60, prefix: prefix() }, offline);
    await budget.record('a');
    expect(await budget.retryAfter('a')).toBe(60);
    offline.disconnect();
  }, 10_000);

  it('shares a failure budget through Redis under its own prefix', async () => {
    const p = prefix();
    const a = createFailureBudget({ points: 2, windowSeconds: 60, prefix: p }, await connect());
    const b = createFailureBudget({ points: 2, windowSeconds: 60, prefix: p }, await connect());
    await a.record('addr');
    expect(await b.retryAfter('addr')).toBe(0);
    await b.record('addr');
    expect(await a.retryAfter('addr')).toBe(60);
    expect(await (await connect()).get(`${p}fb:addr`)).toBe('2');
  });
});
