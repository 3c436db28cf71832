import { Worker } from 'node:worker_threads';
import type {
  AnomalyDetectorOptions,
  ClassifierInput,
  LabelledEvent,
  TrainOptions,
} from './classifier/index.js';
import {
  isTrainerReply,
  type AnomalyJobResult,
  type ForestJobResult,
  type TrainerJob,
  type TrainerJobHeader,
  type TrainerResult,
} from './classifier-trainer-protocol.js';

/** Why a job produced no result: it threw, its thread died, or the trainer was stopped. */
export type TrainerFailure = 'FAILED' | 'CRASHED' | 'STOPPED';

export class ClassifierTrainerError extends Error {
  override readonly name = 'ClassifierTrainerError';
  constructor(
    readonly reason: TrainerFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The thread entry next to this file: `.ts` when running from sources (tsx, vitest),
 * `.js` in the compiled `dist/`, where tsc emits both files side by side.
 */
export const TRAINER_ENTRY = new URL(
  `./classifier-trainer-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
  import.meta.url,
);

/**
 * A generous heap cap for the thread: 5,000 labels or 200,000 anomaly events need far
 * less, and a thread over its cap is terminated with an error instead of the V8 heap
 * limit taking the whole process down.
 */
const DEFAULT_MAX_HEAP_MB = 1024;
/** Events per message to the thread: cloning 5,000 takes ~10 ms of the main thread. */
const CHUNK = 5_000;

export interface ClassifierTrainerOptions {
  /** Thread entry; tests point it at a thread that crashes. */
  entry?: URL;
  maxHeapMb?: number;
}

/**
 * Runs forest training and anomaly fitting on a worker thread so that the ~18 s of CPU
 * of `train()` never blocks the API's event loop. Jobs run one at a time per process (a
 * second job waits in a queue: two trainings at once would only halve each other's
 * speed); each job gets a fresh thread that ends with it.
 */
export class ClassifierTrainer {
  private queue: Promise<unknown> = Promise.resolve();
  private current: Worker | undefined;
  private stopped = false;

  constructor(private readonly options: ClassifierTrainerOptions = {}) {}

  async trainForest(labelled: LabelledEvent[], options: TrainOptions = {}): Promise<ForestJobResult> {
    const result = await this.enqueue({ kind: 'FOREST', labelled, options });
    if (result.kind !== 'FOREST') throw new ClassifierTrainerError('FAILED', 'wrong result kind from thread');
    return result;
  }

  async fitAnomaly(events: ClassifierInput[], options: AnomalyDetectorOptions): Promise<AnomalyJobResult> {
    const result = await this.enqueue({ kind: 'ANOMALY', events, options });
    if (result.kind !== 'ANOMALY')
      throw new ClassifierTrainerError('FAILED', 'wrong result kind from thread');
    return result;
  }

  /** Terminates the running thread and refuses further jobs (their callers get STOPPED). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.current?.terminate();
  }

  private enqueue(job: TrainerJob): Promise<TrainerResult> {
    const next = this.queue.then(() => this.spawn(job));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private spawn(job: TrainerJob): Promise<TrainerResult> {
    if (this.stopped)
      return Promise.reject(new ClassifierTrainerError('STOPPED', 'classifier trainer stopped'));
    const entry = this.options.entry ?? TRAINER_ENTRY;
    return new Promise<TrainerResult>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.current = undefined;
        outcome();
      };
      const fail = (reason: TrainerFailure, message: string, cause?: unknown) =>
        settle(() => reject(new ClassifierTrainerError(reason, message, { cause })));
      let worker: Worker;
      try {
        const [source, mode] = threadSource(entry);
        worker = new Worker(source, {
          ...mode,
          workerData: header(job),
          resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB },
        });
      } catch (err) {
        fail('CRASHED', `cannot start the trainer thread: ${(err as Error).message}`, err);
        return;
      }
      this.current = worker;
      feed(worker, job.kind === 'FOREST' ? job.labelled : job.events, () => settled).catch((err: unknown) =>
        fail('CRASHED', `cannot send the events to the trainer thread: ${(err as Error).message}`, err),
      );
      worker.once('message', (reply: unknown) => {
        if (!isTrainerReply(reply)) fail('FAILED', 'unexpected message from the trainer thread');
        else if (reply.ok) settle(() => resolve(reply.result));
        else fail('FAILED', `${job.kind} job failed: ${reply.error.name}: ${reply.error.message}`);
      });
      // Listening to 'error' is what keeps an uncaught exception (or an out-of-memory
      // termination) in the thread from being rethrown on the main thread.
      worker.once('error', (err) => fail('CRASHED', `trainer thread crashed: ${err.message}`, err));
      worker.once('exit', (code) =>
        this.stopped
          ? fail('STOPPED', 'classifier trainer stopped')
          : fail('CRASHED', `trainer thread exited with code ${code} before replying`),
      );
    });
  }
}

function header(job: TrainerJob): TrainerJobHeader {
  return job.kind === 'FOREST'
    ? { kind: 'FOREST', options: job.options, count: job.labelled.length }
    : { kind: 'ANOMALY', options: job.options, count: job.events.length };
}

/** Posts the events in chunks, yielding to the event loop between them (see TrainerJobHeader). */
async function feed(worker: Worker, items: readonly unknown[], done: () => boolean): Promise<void> {
  for (let i = 0; i < items.length && !done(); i += CHUNK) {
    worker.postMessage(items.slice(i, i + CHUNK));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A `.ts` entry (running from sources under tsx or vitest) needs tsx's loader in the
 * thread. Node 20 does not run `--import` preloads in worker threads, so passing the
 * loader in `execArgv` does not work, not even under the tsx CLI: instead a tiny
 * bootstrap registers tsx's ESM hooks in the thread and then imports the entry. A `.js`
 * entry (the compiled `dist/`) is started directly.
 */
function threadSource(entry: URL): [URL | string, { eval: boolean }] {
  if (!entry.pathname.endsWith('.ts')) return [entry, { eval: false }];
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return [code, { eval: true }];
}
