import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from './errors.js';

export interface RequestRateLimiter {
  readonly mode: 'redis' | 'in-process';
  /** Counts one request for `key`; throws RATE_LIMITED (with a retry hint) when over. */
  consume(key: string, points?: number): Promise<void>;
}

/**
 * Per-key request limiting. With Redis the budget is shared by every instance; when
 * Redis fails the in-memory insurance limiter takes over, so an outage never turns
 * into refusing every request.
 */
export function createRequestRateLimiter(
  opts: { points: number; windowSeconds: number; prefix: string },
  redis?: Redis,
): RequestRateLimiter {
  const memory = new RateLimiterMemory({
    points: opts.points,
    duration: opts.windowSeconds,
    keyPrefix: 'rl',
  });
  const limiter = redis
    ? new RateLimiterRedis({
        storeClient: redis,
        points: opts.points,
        duration: opts.windowSeconds,
        keyPrefix: `${opts.prefix}rl`,
        insuranceLimiter: memory,
        rejectIfRedisNotReady: true,
      })
    : memory;
  return {
    mode: redis ? 'redis' : 'in-process',
    async consume(key, points = 1) {
      try {
        await limiter.consume(key, points);
      } catch (res) {
        if (res instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
        throw res;
      }
    },
  };
}
