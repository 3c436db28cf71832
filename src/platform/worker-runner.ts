import type { Logger } from './logger.js';

/**
 * A declared background worker: no module starts timers of its own (docs/architecture.md). The runner calls `run` every
 * `intervalMs`; a failing run is logged and retried with exponential backoff, and
 * never crashes the process. `lock` elects one instance for singleton workers.
 */
export interface Worker {
  readonly id: string;
  readonly intervalMs: number;
  readonly enabled: boolean;
  /** Held for the duration of a run; `undefined` = every instance runs it. */
  readonly lock?: WorkerLock;
  run(signal: AbortSignal): Promise<void>;
  stop?(): Promise<void>;
}

export interface WorkerLock {
  /** Tries to become (or stay) the holder; false = another instance holds it. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

// An upstream outage should not leave a worker idle for long after it recovers.
const MAX_BACKOFF_MS = 60_000;

export class WorkerRunner {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly log: Logger;

  constructor(
    private readonly workers: readonly Worker[],
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'workers' });
  }

  start(): void {
    for (const w of this.workers) {
      if (!w.enabled) {
        this.log.info({ worker: w.id }, 'worker disabled');
        continue;
      }
      this.schedule(w, 0, 0);
    }
  }

  private schedule(w: Worker, delayMs: number, failures: number): void {
    if (this.abort.signal.aborted) return;
    const timer = setTimeout(() => {
      const p = this.runOnce(w).then(
        () => this.schedule(w, w.intervalMs, 0),
        (err: unknown) => {
          const next = Math.min(w.intervalMs * 2 ** (failures + 1), MAX_BACKOFF_MS);
          // Log the first failure and then only every tenth, so an outage does not flood.
          if (failures === 0 || failures % 10 === 0) {
            this.log.warn(
              { worker: w.id, err: (err as Error).message, failures: failures + 1, retryInMs: next },
              'worker run failed',
            );
          }
          this.schedule(w, next, failures + 1);
        },
      );
      this.running.set(w.id, p);
    }, delayMs);
    timer.unref();
    this.timers.set(w.id, timer);
  }

  private async runOnce(w: Worker): Promise<void> {
    if (w.lock && !(await w.lock.acquire())) return;
    await w.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers.values()) clearTimeout(t);
    await Promise.allSettled(this.running.values());
    await Promise.allSettled(
      this.workers.map(async (w) => {
        await w.stop?.();
        await w.lock?.release();
      }),
    );
  }
}
