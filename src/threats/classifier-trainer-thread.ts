import { parentPort, workerData } from 'node:worker_threads';
import { AnomalyDetector, RulesClassifier, train } from './classifier/index.js';
import type { ClassifierInput, LabelledEvent } from './classifier/index.js';
import type {
  TrainerJob,
  TrainerJobHeader,
  TrainerReply,
  TrainerResult,
} from './classifier-trainer-protocol.js';

/**
 * Worker-thread entry of ClassifierTrainer: runs one job from `workerData`, posts one
 * reply and ends. One thread per job keeps a crash or a leak from outliving the job and
 * leaves nothing resident between trainings (they run minutes to hours apart).
 *
 * It imports only the pure classifier: no database, logger or config in this thread.
 */
function run(job: TrainerJob): TrainerResult {
  switch (job.kind) {
    case 'FOREST': {
      // The service classifies with the built-in rule table, so that is what the forest must beat.
      const result = train(job.labelled, new RulesClassifier(), job.options);
      if (result.model === null) {
        return {
          kind: 'FOREST',
          model: null,
          rulesAccuracy: result.rulesAccuracy,
          labelsUsed: result.labelsUsed,
          reason: result.reason,
        };
      }
      return {
        kind: 'FOREST',
        model: result.model.toJSON(),
        cvAccuracy: result.cvAccuracy,
        rulesAccuracy: result.rulesAccuracy,
        promoted: result.promoted,
        labelsUsed: result.labelsUsed,
      };
    }
    case 'ANOMALY': {
      const detector = AnomalyDetector.fit(job.events, job.options);
      return { kind: 'ANOMALY', model: detector.toJSON(), trainedOn: detector.trainedOn };
    }
  }
}

function reply(job: TrainerJob): void {
  let message: TrainerReply;
  try {
    message = { ok: true, result: run(job) };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    message = { ok: false, error: { name: error.name, message: error.message } };
  }
  parentPort?.postMessage(message);
}

function assemble(header: TrainerJobHeader, items: unknown[]): TrainerJob {
  // The items come from ClassifierTrainer, which sends the job's own array in order.
  return header.kind === 'FOREST'
    ? { kind: 'FOREST', options: header.options, labelled: items as LabelledEvent[] }
    : { kind: 'ANOMALY', options: header.options, events: items as ClassifierInput[] };
}

const header = workerData as TrainerJobHeader;
const items: unknown[] = [];
if (header.count === 0) reply(assemble(header, items));
else {
  const receive = (chunk: unknown[]) => {
    for (const item of chunk) items.push(item);
    if (items.length < header.count) return;
    // Without a listener the port no longer keeps the thread alive: it ends after replying.
    parentPort?.off('message', receive);
    reply(assemble(header, items));
  };
  parentPort?.on('message', receive);
}
