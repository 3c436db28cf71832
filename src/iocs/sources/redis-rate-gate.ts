/**
 * The production RateGate: rate-limiter-flexible's RateLimiterRedis under the same
 * LimiterRateGate, so every instance spends one shared budget per source. While Redis
 * is unreachable each instance falls back to its own in-memory budget: lookups keep
 * working (at worst N instances may each spend a window's budget) instead of failing.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { LimiterRateGate, type RateWindow } from './rate-gate.js';
import type { SourceName } from './source-adapter.js';

export function createRedisRateGate(
  redis: Redis,
  keyPrefix: string,
  limits: Readonly<Partial<Record<SourceName, readonly RateWindow[]>>>,
): LimiterRateGate {
  return new LimiterRateGate(
    limits,
    (options) =>
      new RateLimiterRedis({
        ...options,
        keyPrefix: `${keyPrefix}${options.keyPrefix}`,
        storeClient: redis,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(options),
      }),
  );
}
