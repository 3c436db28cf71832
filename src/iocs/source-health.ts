/**
 * What `health.sources` reports: configuration, the outcome of this instance's last
 * calls per source, and the shared quota. Sources are optional dependencies: their
 * state never affects /readyz.
 */
import type { LimiterRateGate } from './sources/rate-gate.js';
import { SOURCE_NAMES, type SourceName, type SourceResult } from './sources/source-adapter.js';

export type SourceHealthStatus = 'UP' | 'DOWN' | 'DISABLED';

export interface SourceHealthRecord {
  name: SourceName;
  configured: boolean;
  status: SourceHealthStatus;
  remainingQuota: number | null;
  quotaResetAt: Date | null;
  exhaustedUntil: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
}

interface Observed {
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSuccessAt: Date | null;
  failing: boolean;
}

export class SourceHealthTracker {
  private readonly observed = new Map<SourceName, Observed>();

  constructor(
    private readonly configured: ReadonlySet<SourceName>,
    private readonly gate: Pick<LimiterRateGate, 'remaining'>,
  ) {}

  /** Records real upstream outcomes only: skips and deferrals say nothing about the vendor. */
  record(result: SourceResult): void {
    if (result.status === 'SKIPPED') return;
    const o = this.observed.get(result.source) ?? {
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: null,
      failing: false,
    };
    if (result.status === 'OK') {
      o.lastSuccessAt = result.fetchedAt;
      o.failing = false;
    } else {
      o.lastError = result.error ?? result.errorKind ?? 'error';
      o.lastErrorAt = result.fetchedAt;
      o.failing = true;
    }
    this.observed.set(result.source, o);
  }

  async report(): Promise<SourceHealthRecord[]> {
    return Promise.all(
      SOURCE_NAMES.map(async (name) => {
        const o = this.observed.get(name);
        const configured = this.configured.has(name);
        const quota = await this.gate
          .remaining(name)
          .catch(() => ({ remaining: null, resetAt: null, exhaustedUntil: null }));
        return {
          name,
          configured,
          status: !configured ? 'DISABLED' : o?.failing === true ? 'DOWN' : 'UP',
          remainingQuota: quota.remaining,
          quotaResetAt: quota.resetAt,
          exhaustedUntil: quota.exhaustedUntil,
          lastError: o?.lastError ?? null,
          lastErrorAt: o?.lastErrorAt ?? null,
          lastSuccessAt: o?.lastSuccessAt ?? null,
        };
      }),
    );
  }
}
