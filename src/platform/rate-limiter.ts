import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { rateLimited } from './errors.js';

export interface RequestRateLimiter {
  /** 'off': RATE_LIMIT_POINTS=0, every request passes. */
  readonly mode: 'redis' | 'in-process' | 'off';
  /** Counts one request for `key`; throws RATE_LIMITED (with a retry hint) when over. */
  consume(key: string, points?: number): Promise<void>;
  /**
   * Counts one request for `key` if that needs no I/O (points already leased); false
   * means nothing was counted and `consume` must be called.
   */
  tryConsume(key: string): boolean;
}

/** Most points taken from the shared budget in one Redis call (see LeasedBudget). */
export const MAX_LEASE = 100;

/**
 * Per-key request limiting. With Redis the budget is shared by every instance; when
 * Redis fails the in-memory insurance limiter takes over, so an outage never turns
 * into refusing every request. No points (0) turns limiting off.
 */
export function createRequestRateLimiter(
  opts: { points: number; windowSeconds: number; prefix: string },
  redis?: Redis,
): RequestRateLimiter {
  if (opts.points === 0) return { mode: 'off', consume: () => Promise.resolve(), tryConsume: () => true };
  const memory = new RateLimiterMemory({
    points: opts.points,
    duration: opts.windowSeconds,
    keyPrefix: 'rl',
  });
  if (!redis) {
    // Leased like the shared budget, so a busy key costs a map lookup per request here too.
    const local = new LeasedBudget(memory, leaseSize(opts.points));
    return {
      mode: 'in-process',
      consume: (key, points) => local.consume(key, points),
      tryConsume: (key) => local.tryConsume(key),
    };
  }
  const shared = new RateLimiterRedis({
    storeClient: redis,
    points: opts.points,
    duration: opts.windowSeconds,
    keyPrefix: `${opts.prefix}rl`,
    insuranceLimiter: memory,
    rejectIfRedisNotReady: true,
  });
  const budget = new LeasedBudget(shared, leaseSize(opts.points));
  return {
    mode: 'redis',
    consume: (key, points) => budget.consume(key, points),
    tryConsume: (key) => budget.tryConsume(key),
  };
}

/** A lease only where it strands little: at most 2 % of the window's points. */
export const leaseSize = (points: number) => Math.max(1, Math.min(MAX_LEASE, Math.floor(points / 50)));

async function consumeExactly(
  limiter: RateLimiterAbstract,
  key: string,
  points = 1,
): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key, points);
  } catch (res) {
    if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
    throw res;
  }
}

/**
 * Takes points from the shared Redis budget `lease` at a time and spends them locally,
 * so a busy key costs one Redis round trip per `lease` requests instead of one each.
 * The budget stays exact: a lease that does not fit is handed back and the request
 * takes just its own points; leased points expire with the window they came from. The
 * price is that an instance may hold up to `lease - 1` unspent points when a window
 * ends (never more than 2 % of it, see leaseSize).
 */
class LeasedBudget {
  /** Points in hand per key until `until`; `left: -1` marks a key refused until then. */
  private readonly leases = new Map<string, { left: number; until: number }>();
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly shared: RateLimiterAbstract,
    private readonly lease: number,
  ) {}

  /** Spends one leased point if one is in hand for `key` (no I/O); false otherwise. */
  tryConsume(key: string): boolean {
    const held = this.leases.get(key);
    if (!held || held.left < 1 || held.until <= Date.now()) return false;
    held.left -= 1;
    return true;
  }

  async consume(key: string, points = 1): Promise<void> {
    if (this.lease <= 1 || points >= this.lease) {
      await consumeExactly(this.shared, key, points);
      return;
    }
    for (;;) {
      const held = this.leases.get(key);
      const now = Date.now();
      if (held && held.until > now) {
        // The window's budget is spent: refuse without asking Redis again until it resets.
        if (held.left < 0) throw rateLimited(Math.max(1, Math.ceil((held.until - now) / 1000)));
        if (held.left >= points) {
          held.left -= points;
          return;
        }
      }
      // One lease request per key at a time; the others wait for it and try again.
      const inFlight = this.pending.get(key);
      if (inFlight) {
        await inFlight.catch(() => undefined);
        continue;
      }
      const request = this.renew(key, points);
      this.pending.set(key, request);
      try {
        if ((await request) === 'exact') return;
      } finally {
        this.pending.delete(key);
      }
    }
  }

  /** Leases `lease` points, or, when they do not fit, takes exactly `points` ('exact'). */
  private async renew(key: string, points: number): Promise<'leased' | 'exact'> {
    if (this.leases.size > 10_000) this.dropExpired();
    try {
      const res = await this.shared.consume(key, this.lease);
      this.leases.set(key, { left: this.lease, until: Date.now() + res.msBeforeNext });
      return 'leased';
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      this.leases.delete(key);
      // The rejected lease was counted: give it back, then ask for just this request.
      await this.shared.reward(key, this.lease);
      try {
        await this.shared.consume(key, points);
      } catch (refused) {
        if (!(refused instanceof RateLimiterRes)) throw refused;
        this.leases.set(key, { left: -1, until: Date.now() + refused.msBeforeNext });
        throw rateLimited(Math.max(1, Math.ceil(refused.msBeforeNext / 1000)));
      }
      return 'exact';
    }
  }

  private dropExpired(): void {
    const now = Date.now();
    for (const [key, lease] of this.leases) if (lease.until <= now) this.leases.delete(key);
  }
}

/**
 * A budget of failures per key (for example failed authentications per client address):
 * `record` counts one, `retryAfter` says whether the key is over budget (seconds until
 * its window ends) or not (0). Shared through Redis when configured, with the same
 * in-memory fallback as the request limiter.
 */
export interface FailureBudget {
  retryAfter(key: string): Promise<number>;
  record(key: string): Promise<void>;
}

export function createFailureBudget(
  opts: { points: number; windowSeconds: number; prefix: string },
  redis?: Redis,
): FailureBudget {
  const memory = new RateLimiterMemory({
    points: opts.points,
    duration: opts.windowSeconds,
    keyPrefix: 'fb',
  });
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({
        storeClient: redis,
        points: opts.points,
        duration: opts.windowSeconds,
        keyPrefix: `${opts.prefix}fb`,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true,
      })
    : memory;
  return {
    async retryAfter(key) {
      const res = await limiter.get(key);
      if (!res || res.consumedPoints < opts.points) return 0;
      return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    },
    async record(key) {
      try {
        await limiter.consume(key, 1);
      } catch (res) {
        // Over budget: the failure is counted all the same; anything else is a store error.
        if (!(res instanceof RateLimiterRes)) throw res;
      }
    },
  };
}
