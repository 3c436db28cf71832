/**
 * The production RateGate: rate-limiter-flexible's RateLimiterRedis under the same
 * LimiterRateGate, so every instance spends one shared budget per source.
 */
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
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
      new RateLimiterRedis({ ...options, keyPrefix: `${keyPrefix}${options.keyPrefix}`, storeClient: redis }),
  );
}
