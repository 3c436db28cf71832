import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';
import { TrainingStoppedError, type ClassifierService } from './classifier-service.js';
import type { ThreatEventRepository } from './threat-event-repository.js';

export interface ThreatWorkerSettings {
  retentionDays: number;
  anomalyRefitMinutes: number;
  trainIntervalMinutes: number;
  modelReloadSeconds: number;
}

const RETENTION_BATCH = 10_000;
const MINUTE = 60_000;

/**
 * Scheduled threat-event work. No singleton lock is needed: refit and training first
 * check in PostgreSQL whether another instance already did the work this period, and
 * retention deletes are idempotent.
 */
export function threatWorkers(
  settings: ThreatWorkerSettings,
  classifier: ClassifierService,
  events: ThreatEventRepository,
  logger: Logger,
): Worker[] {
  const log = logger.child({ component: 'threat-workers' });
  const refitMs = settings.anomalyRefitMinutes * MINUTE;
  return [
    {
      id: 'threat-anomaly-refit',
      // Checked more often than the refit period so that a new deployment gets its first
      // model minutes after 100 events exist; refitIfDue keeps the period itself.
      intervalMs: Math.min(refitMs, 5 * MINUTE),
      enabled: true,
      async run(signal) {
        const model = await untilAborted(signal, classifier, () => classifier.refitIfDue(refitMs));
        if (model) log.info({ version: model.version, trainedOn: model.trainedOn }, 'anomaly model refitted');
      },
    },
    {
      id: 'threat-classifier-train',
      intervalMs: settings.trainIntervalMinutes * MINUTE,
      enabled: true,
      async run(signal) {
        await untilAborted(signal, classifier, () => classifier.trainIfDue());
      },
    },
    {
      id: 'threat-model-reload',
      intervalMs: settings.modelReloadSeconds * 1000,
      enabled: true,
      run: () => classifier.reload(),
    },
    {
      id: 'threat-retention',
      intervalMs: 60 * MINUTE,
      enabled: settings.retentionDays > 0,
      async run(signal) {
        const cutoff = new Date(Date.now() - settings.retentionDays * 24 * 60 * MINUTE);
        let total = 0;
        for (;;) {
          if (signal.aborted) break;
          const deleted = await events.deleteOlderThan(cutoff, RETENTION_BATCH);
          total += deleted;
          if (deleted < RETENTION_BATCH) break;
        }
        if (total > 0) log.info({ deleted: total, cutoff }, 'old threat events deleted');
      },
    },
  ];
}

/**
 * The runner aborts `signal` only at shutdown, and waits for runs to end: a training
 * thread is terminated then rather than holding shutdown for its remaining seconds.
 */
async function untilAborted<T>(
  signal: AbortSignal,
  classifier: ClassifierService,
  run: () => Promise<T>,
): Promise<T | null> {
  const cancel = () => void classifier.stopTraining();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    return await run();
  } catch (err) {
    if (err instanceof TrainingStoppedError) return null;
    throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
