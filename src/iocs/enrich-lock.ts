/**
 * Cross-instance coordination of IOC enrichment: with Redis, a short lock per IOC so
 * that another instance waits for the holder's stored result instead of calling the
 * sources again. Within one process `SingleFlight` (src/platform/single-flight.ts)
 * already shares the running enrichment.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

export interface EnrichLock {
  /** A token when this instance may enrich now; null when another one holds the IOC. */
  acquire(value: string): Promise<string | null>;
  release(value: string, token: string): Promise<void>;
  /** Resolves when the holder releases (or its lock expires, or `maxWaitMs` passes). */
  waitReleased(value: string, maxWaitMs: number): Promise<void>;
}

/** One process: the in-process single flight is all the coordination needed. */
export const localEnrichLock: EnrichLock = {
  acquire: () => Promise.resolve('local'),
  release: () => Promise.resolve(),
  waitReleased: () => Promise.resolve(),
};

const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const POLL_MS = 50;

export class RedisEnrichLock implements EnrichLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Longer than any source's time budget, so a live holder never loses it. */
    private readonly ttlMs: number,
  ) {}

  private key(value: string): string {
    return `${this.prefix}ioc-lock:${createHash('sha256').update(value).digest('base64url')}`;
  }

  /**
   * With Redis unreachable, act as the holder: the in-process single flight still
   * applies, and a rare duplicate call across instances beats failing the lookup.
   */
  async acquire(value: string): Promise<string | null> {
    const token = randomUUID();
    try {
      const ok = await this.redis.set(this.key(value), token, 'PX', this.ttlMs, 'NX');
      return ok === 'OK' ? token : null;
    } catch {
      return token;
    }
  }

  async release(value: string, token: string): Promise<void> {
    // The key expires by itself if Redis comes back before we can delete it.
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key(value), token).catch(() => undefined);
  }

  async waitReleased(value: string, maxWaitMs: number): Promise<void> {
    const deadline = Date.now() + maxWaitMs;
    const held = () =>
      this.redis.exists(this.key(value)).then(
        (n) => n === 1,
        () => false,
      );
    while (Date.now() < deadline && (await held())) await sleep(POLL_MS);
  }
}
