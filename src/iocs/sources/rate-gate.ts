/**
 * RateGate over rate-limiter-flexible. The storage is chosen by the limiter factory:
 * memory here and in tests, RateLimiterRedis in production so all instances share one
 * budget per source. A vendor 429 blocks the source until its reset time through a
 * separate "blocked" limiter, which works the same on either storage.
 */
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateGate, RateGateDecision, SourceName } from './source-adapter.js';

export interface RateWindow {
  points: number;
  durationSeconds: number;
}

/** Public-tier defaults (the vendors' free plans); paid tiers override them from config. OTX publishes no limits. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<SourceName, readonly RateWindow[]>> = {
  VIRUSTOTAL: [
    { points: 4, durationSeconds: 60 },
    { points: 500, durationSeconds: 24 * 60 * 60 },
  ],
  ABUSEIPDB: [{ points: 1000, durationSeconds: 24 * 60 * 60 }],
  OTX: [],
};

export const RATE_KEY_PREFIX = 'tw:quota';

export interface QuotaState {
  /** Requests left in the tightest window; null when the source has no known limit. */
  remaining: number | null;
  resetAt: Date | null;
  /** Set while the vendor's 429 blocks the source. */
  exhaustedUntil: Date | null;
}

export type LimiterFactory = (options: {
  points: number;
  duration: number;
  keyPrefix: string;
}) => RateLimiterAbstract;

export const memoryLimiterFactory: LimiterFactory = (options) => new RateLimiterMemory(options);

interface SourceLimiters {
  windows: RateLimiterAbstract[];
  blocked: RateLimiterAbstract;
}

const BLOCK_POINTS = 1;

export class LimiterRateGate implements RateGate {
  private readonly limiters = new Map<SourceName, SourceLimiters>();

  constructor(
    private readonly limits: Readonly<Partial<Record<SourceName, readonly RateWindow[]>>>,
    private readonly makeLimiter: LimiterFactory = memoryLimiterFactory,
  ) {}

  async tryAcquire(source: SourceName): Promise<RateGateDecision> {
    const { windows, blocked } = this.limitersFor(source);
    const block = await blocked.get(source);
    if (block !== null && block.consumedPoints > BLOCK_POINTS) return this.deny(block.msBeforeNext);
    const taken: RateLimiterAbstract[] = [];
    for (const limiter of windows) {
      try {
        await limiter.consume(source, 1);
        taken.push(limiter);
      } catch (rejection) {
        // Give back what the shorter windows already counted, or a denied call would cost daily quota.
        await Promise.all(taken.map((l) => l.reward(source, 1)));
        if (rejection instanceof RateLimiterRes) return this.deny(rejection.msBeforeNext);
        throw rejection;
      }
    }
    return { ok: true };
  }

  async markExhausted(source: SourceName, until: Date): Promise<void> {
    const seconds = Math.ceil((until.getTime() - Date.now()) / 1000);
    if (seconds > 0) await this.limitersFor(source).blocked.block(source, seconds);
  }

  /** What is left in the tightest window, and when the source is blocked after a 429. */
  async remaining(source: SourceName): Promise<QuotaState> {
    const { windows, blocked } = this.limitersFor(source);
    const block = await blocked.get(source);
    const exhaustedUntil =
      block !== null && block.consumedPoints > BLOCK_POINTS
        ? new Date(Date.now() + block.msBeforeNext)
        : null;
    let tightest: { remaining: number; resetAt: Date | null } | null = null;
    for (const limiter of windows) {
      const res = await limiter.get(source);
      const remaining = Math.max(0, limiter.points - (res?.consumedPoints ?? 0));
      if (tightest === null || remaining < tightest.remaining) {
        tightest = { remaining, resetAt: res ? new Date(Date.now() + res.msBeforeNext) : null };
      }
    }
    return { remaining: tightest?.remaining ?? null, resetAt: tightest?.resetAt ?? null, exhaustedUntil };
  }

  private deny(msBeforeNext: number): RateGateDecision {
    return { ok: false, retryAt: new Date(Date.now() + Math.max(0, msBeforeNext)) };
  }

  private limitersFor(source: SourceName): SourceLimiters {
    let found = this.limiters.get(source);
    if (found === undefined) {
      const windows = (this.limits[source] ?? []).map((w) =>
        this.makeLimiter({
          points: w.points,
          duration: w.durationSeconds,
          keyPrefix: `${RATE_KEY_PREFIX}:${w.durationSeconds}s`,
        }),
      );
      const blocked = this.makeLimiter({
        points: BLOCK_POINTS,
        duration: 1,
        keyPrefix: `${RATE_KEY_PREFIX}:blocked`,
      });
      found = { windows, blocked };
      this.limiters.set(source, found);
    }
    return found;
  }
}

export const createMemoryRateGate = (
  limits: Readonly<Partial<Record<SourceName, readonly RateWindow[]>>> = DEFAULT_RATE_LIMITS,
): LimiterRateGate => new LimiterRateGate(limits, memoryLimiterFactory);

/** For tests and for sources whose budget is managed elsewhere. */
export const unlimitedRateGate = (): RateGate => new LimiterRateGate({});
