import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';

/**
 * Shared key/value cache with TTLs. Values are JSON. The Redis implementation is
 * shared by every instance; the in-process one is used when no REDIS_URL is set.
 * A failing Redis degrades to a miss, never to an error for the caller.
 */
export interface Cache {
  readonly mode: 'redis' | 'in-process';
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Many keys in one round trip (MGET); a failure reads as all misses. */
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  /** Many entries with one TTL in one round trip (a pipeline). */
  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
}

export class MemoryCache implements Cache {
  readonly mode = 'in-process' as const;
  private readonly lru: LRUCache<string, { json: string }>;

  constructor(maxEntries = 50_000) {
    this.lru = new LRUCache({ max: maxEntries, ttlAutopurge: false });
  }

  get<T>(key: string): Promise<T | undefined> {
    const hit = this.lru.get(key);
    return Promise.resolve(hit ? (JSON.parse(hit.json) as T) : undefined);
  }

  set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.lru.set(key, { json: JSON.stringify(value) }, { ttl: ttlSeconds * 1000 });
    return Promise.resolve();
  }

  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return Promise.all(keys.map((k) => this.get<T>(k)));
  }

  setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    for (const [k, v] of entries) void this.set(k, v, ttlSeconds);
    return Promise.resolve();
  }

  del(...keys: string[]): Promise<void> {
    for (const k of keys) this.lru.delete(k);
    return Promise.resolve();
  }
}

export class RedisCache implements Cache {
  readonly mode = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const raw = await this.redis.get(this.prefix + 'cache:' + key);
      return raw === null ? undefined : (JSON.parse(raw) as T);
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(
        this.prefix + 'cache:' + key,
        JSON.stringify(value),
        'EX',
        Math.max(1, Math.ceil(ttlSeconds)),
      );
    } catch {
      // A cache write that fails only costs a recomputation later.
    }
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (keys.length === 0) return [];
    try {
      const raws = await this.redis.mget(...keys.map((k) => this.prefix + 'cache:' + k));
      return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as T)));
    } catch {
      return keys.map(() => undefined);
    }
  }

  async setMany(entries: readonly (readonly [string, unknown])[], ttlSeconds: number): Promise<void> {
    if (entries.length === 0) return;
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const pipeline = this.redis.pipeline();
    for (const [k, v] of entries) pipeline.set(this.prefix + 'cache:' + k, JSON.stringify(v), 'EX', ttl);
    try {
      await pipeline.exec();
    } catch {
      // See set().
    }
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.redis.del(...keys.map((k) => this.prefix + 'cache:' + k));
    } catch {
      // See set().
    }
  }
}
