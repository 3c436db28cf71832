import type { ComponentReport, ComponentStatus, HealthReport } from './health-types.js';

export interface HealthCheck {
  name: string;
  /** A required component that is down makes the whole service DOWN (and /readyz fail). */
  required: boolean;
  mode: string;
  /**
   * Resolves with details when healthy (`down: true` when not, keeping the snapshot);
   * throwing also means down. Omit for DISABLED components.
   */
  check?: () => Promise<CheckResult | void>;
}

export interface CheckResult {
  latencyMs?: number;
  detail?: string;
  down?: boolean;
  /** The state the check looked at, kept in the report (`HealthReport.snapshots`). */
  snapshot?: unknown;
}

const CHECK_TIMEOUT_MS = 2_000;

export class HealthService {
  private readonly checks: HealthCheck[] = [];
  private readonly startedAt = Date.now();

  constructor(private readonly version: string) {}

  /** The composition root registers each module's checks (AppModule.healthChecks), in report order. */
  register(...checks: readonly HealthCheck[]): void {
    this.checks.push(...checks);
  }

  async report(): Promise<HealthReport> {
    const snapshots: Record<string, unknown> = {};
    const components = await Promise.all(this.checks.map((c) => runCheck(c, snapshots)));
    const status = (name: string): ComponentStatus =>
      components.find((c) => c.name === name)?.status ?? 'DISABLED';
    const requiredDown = components.some((c, i) => this.checks[i]?.required && c.status === 'DOWN');
    const anyDown = components.some((c) => c.status === 'DOWN');
    return {
      status: requiredDown ? 'DOWN' : anyDown ? 'DEGRADED' : 'OK',
      database: status('database'),
      redis: status('redis'),
      geoip: status('geoip'),
      components,
      version: this.version,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      snapshots,
    };
  }

  /** Ready = every required component answers. */
  async ready(): Promise<{ ready: boolean; components: ComponentReport[] }> {
    const required = this.checks.filter((c) => c.required);
    const components = await Promise.all(required.map((c) => runCheck(c)));
    return { ready: components.every((c) => c.status !== 'DOWN'), components };
  }

  /** Server time every interval, for the heartbeat subscription. */
  ticks(intervalMs: number): AsyncIterableIterator<Date> {
    let timer: NodeJS.Timeout | undefined;
    let pending: ((r: IteratorResult<Date>) => void) | undefined;
    let done = false;
    const finish = () => {
      done = true;
      if (timer) clearTimeout(timer);
      pending?.({ value: undefined, done: true });
      pending = undefined;
    };
    const iterator: AsyncIterableIterator<Date> = {
      next: () =>
        done
          ? Promise.resolve({ value: undefined, done: true })
          : new Promise((resolve) => {
              pending = resolve;
              timer = setTimeout(() => {
                pending = undefined;
                resolve({ value: new Date(), done: false });
              }, intervalMs);
            }),
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

async function runCheck(c: HealthCheck, snapshots: Record<string, unknown> = {}): Promise<ComponentReport> {
  const base = { name: c.name, mode: c.mode };
  if (!c.check) return { ...base, status: 'DISABLED', latencyMs: null, detail: null };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    });
    const res = (await Promise.race([c.check(), timeout])) ?? {};
    if (res.snapshot !== undefined) snapshots[c.name] = res.snapshot;
    if (res.down) return { ...base, status: 'DOWN', latencyMs: null, detail: res.detail ?? null };
    return {
      ...base,
      status: 'UP',
      latencyMs: res.latencyMs ?? performance.now() - started,
      detail: res.detail ?? null,
    };
  } catch (err) {
    return { ...base, status: 'DOWN', latencyMs: null, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
