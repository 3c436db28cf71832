/**
 * The worker runner on a fake clock: how often it runs, what a lock result changes,
 * how it backs off and how it stops. Counts only; no real time passes.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkerRunner, type Worker, type WorkerLock } from '../../src/platform/worker-runner.js';

const INTERVAL = 1_000;

function fakeLock(answers: boolean[]) {
  const lock = {
    acquired: 0,
    released: 0,
    acquire: () => {
      lock.acquired++;
      return Promise.resolve(answers.shift() ?? false);
    },
    release: () => {
      lock.released++;
      return Promise.resolve();
    },
  } satisfies WorkerLock & Record<string, unknown>;
  return lock;
}

interface FakeWorker extends Worker {
  runs: number;
  stops: number;
  signals: AbortSignal[];
  run(signal: AbortSignal): Promise<void>;
}

function worker(overrides: Partial<Worker> & { fail?: number } = {}): FakeWorker {
  const w: FakeWorker = {
    runs: 0,
    stops: 0,
    signals: [] as AbortSignal[],
    id: 'w',
    intervalMs: INTERVAL,
    enabled: true,
    run(signal: AbortSignal) {
      w.runs++;
      w.signals.push(signal);
      if (w.runs <= (overrides.fail ?? 0)) return Promise.reject(new Error(`failure ${w.runs}`));
      return Promise.resolve();
    },
    stop() {
      w.stops++;
      return Promise.resolve();
    },
    ...overrides,
  };
  return w;
}

/** A logger whose child records what the runner logs; `childBindings` what it was bound with. */
function logger() {
  const warnings: unknown[][] = [];
  const infos: unknown[][] = [];
  const childBindings: unknown[] = [];
  const log = pino({ level: 'silent' });
  vi.spyOn(log, 'child').mockImplementation((bindings) => {
    childBindings.push(bindings);
    return Object.assign(pino({ level: 'silent' }), {
      warn: (...args: unknown[]) => void warnings.push(args),
      info: (...args: unknown[]) => void infos.push(args),
    }) as never;
  });
  return { log, warnings, infos, childBindings };
}

let runner: WorkerRunner | undefined;
beforeEach(() => vi.useFakeTimers());
afterEach(async () => {
  vi.useRealTimers();
  await runner?.stop();
  runner = undefined;
});

describe('WorkerRunner', () => {
  it('runs at once, then once per interval', async () => {
    const w = worker();
    runner = new WorkerRunner([w], logger().log);
    runner.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(w.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.runs).toBe(2);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(w.runs).toBe(5);
  });

  it('never runs a disabled worker, and says so', async () => {
    const { log, infos, childBindings } = logger();
    const w = worker({ enabled: false });
    runner = new WorkerRunner([w], log);
    runner.start();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(w.runs).toBe(0);
    expect(childBindings).toEqual([{ component: 'workers' }]);
    expect(infos).toEqual([[{ worker: 'w' }, 'worker disabled']]);
  });

  it('runs only while the lock says so, and asks for it every interval', async () => {
    const lock = fakeLock([false, false, true, true, false, true]);
    const w = worker({ lock });
    runner = new WorkerRunner([w], logger().log);
    runner.start();
    await vi.advanceTimersByTimeAsync(0);
    expect([lock.acquired, w.runs]).toEqual([1, 0]);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect([lock.acquired, w.runs]).toEqual([2, 0]);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect([lock.acquired, w.runs]).toEqual([3, 1]);
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect([lock.acquired, w.runs]).toEqual([6, 3]);
  });

  it('backs off exponentially after failures, logs the first, and returns to the interval', async () => {
    const { log, warnings } = logger();
    const w = worker({ fail: 3 });
    runner = new WorkerRunner([w], log);
    runner.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.runs).toBe(1); // fails; next in 2 intervals
    await vi.advanceTimersByTimeAsync(2 * INTERVAL - 1);
    expect(w.runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.runs).toBe(2); // fails again; next in 4
    await vi.advanceTimersByTimeAsync(4 * INTERVAL - 1);
    expect(w.runs).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.runs).toBe(3); // fails a third time; next in 8
    await vi.advanceTimersByTimeAsync(8 * INTERVAL);
    expect(w.runs).toBe(4); // succeeds: back to one interval
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(w.runs).toBe(5);
    expect(warnings).toEqual([
      [{ worker: 'w', err: 'failure 1', failures: 1, retryInMs: 2 * INTERVAL }, 'worker run failed'],
    ]);
  });

  it('caps the backoff at one minute and logs the first and every tenth failure', async () => {
    const { log, warnings } = logger();
    const w = worker({ fail: 1_000, intervalMs: 10_000 });
    runner = new WorkerRunner([w], log);
    runner.start();
    await vi.advanceTimersByTimeAsync(0);
    // Runs at 0, 20 and 60 s (waits of 20 s and 40 s), then every 60 s: 13 runs by 660 s.
    await vi.advanceTimersByTimeAsync(660_000);
    expect(w.runs).toBe(13);
    const logged = warnings.map(([x]) => x as { failures: number; retryInMs: number });
    expect(logged.map((x) => [x.failures, x.retryInMs])).toEqual([
      [1, 20_000],
      [11, 60_000],
    ]);
  });

  it('stop aborts the signal, waits for the run, stops each worker and releases its lock once', async () => {
    let finish: () => void = () => undefined;
    const lock = fakeLock(Array<boolean>(20).fill(true));
    const w = worker({ lock });
    w.run = (signal: AbortSignal) => {
      w.runs++;
      w.signals.push(signal);
      return new Promise<void>((resolve) => (finish = resolve));
    };
    const plain = worker({ id: 'plain', enabled: false });
    runner = new WorkerRunner([w, plain], logger().log);
    runner.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.runs).toBe(1);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    runner = undefined;
    await vi.advanceTimersByTimeAsync(0);
    expect(w.signals[0]?.aborted).toBe(true);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect([w.stops, lock.released, plain.stops]).toEqual([1, 1, 1]);
    // Nothing is scheduled after stop, not even by the run that was in flight.
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(w.runs).toBe(1);
  });

  it('releases the lock of a worker that has no stop()', async () => {
    const lock = fakeLock([true]);
    const w: Worker = { id: 'bare', intervalMs: INTERVAL, enabled: true, lock, run: () => Promise.resolve() };
    const bare = new WorkerRunner([w], logger().log);
    bare.start();
    await vi.advanceTimersByTimeAsync(0);
    await bare.stop();
    expect(lock.released).toBe(1);
  });
});
