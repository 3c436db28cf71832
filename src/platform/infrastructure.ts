import type { Config } from '../config.js';
import { MemoryCache, RedisCache, type Cache } from './cache.js';
import { openDatabase, type Database } from './database.js';
import { MemoryEventBus, type EventBus } from './event-bus.js';
import type { HealthCheck } from './health-service.js';
import type { Logger } from './logger.js';
import { createRequestRateLimiter, type RequestRateLimiter } from './rate-limiter.js';
import { RedisEventBus } from './redis-event-bus.js';
import { connectRedis, type RedisConnections } from './redis.js';

/**
 * The I/O every domain shares: database, Redis (optional) and what is built on it, with
 * their health checks (both required: either one down fails /readyz).
 */
export interface Infrastructure {
  db: Database;
  redis: RedisConnections | undefined;
  cache: Cache;
  bus: EventBus;
  rateLimiter: RequestRateLimiter;
  healthChecks: readonly HealthCheck[];
  close(): Promise<void>;
}

export async function openInfrastructure(
  config: Config,
  logger: Logger,
  onEventDropped?: (topic: string) => void,
): Promise<Infrastructure> {
  const db = await openDatabase(config, logger);
  const redis = config.redis.url
    ? await connectRedis(config.redis.url, logger, config.redis).catch(async (err: unknown) => {
        await db.close();
        throw err;
      })
    : undefined;
  const prefix = config.redis.keyPrefix;
  const cache = redis ? new RedisCache(redis.command, prefix) : new MemoryCache();
  const bus = redis
    ? new RedisEventBus(redis.command, redis.subscriber, prefix, logger, onEventDropped)
    : new MemoryEventBus(onEventDropped);
  const rateLimiter = createRequestRateLimiter(
    { points: config.rateLimit.points, windowSeconds: config.rateLimit.windowSeconds, prefix },
    redis?.command,
  );
  return {
    db,
    redis,
    cache,
    bus,
    rateLimiter,
    healthChecks: [
      {
        name: 'database',
        required: true,
        mode: db.mode,
        check: async () => ({ latencyMs: await db.ping() }),
      },
      {
        name: 'redis',
        required: true,
        mode: redis ? 'external' : 'in-process',
        ...(redis ? { check: async () => ({ latencyMs: await redis.ping() }) } : {}),
      },
    ],
    async close() {
      await bus.close();
      await redis?.close();
      await db.close();
    },
  };
}
