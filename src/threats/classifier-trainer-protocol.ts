import type {
  AnomalyDetectorJson,
  AnomalyDetectorOptions,
  ClassifierInput,
  ForestModelJson,
  LabelledEvent,
  TrainOptions,
} from './classifier/index.js';

/**
 * Messages between ClassifierTrainer (main thread) and classifier-trainer-thread.ts.
 * Only plain, structured-cloneable data crosses the thread boundary: events go in, model
 * JSON and figures come out, and the main thread deserialises the model itself.
 */
export type TrainerJob =
  | { kind: 'FOREST'; labelled: LabelledEvent[]; options: TrainOptions }
  | { kind: 'ANOMALY'; events: ClassifierInput[]; options: AnomalyDetectorOptions };

/**
 * What the thread gets as `workerData`; the `count` events follow as chunks posted one
 * by one. Cloning up to 200,000 events in one message stalls the main thread for about
 * half a second; chunks with a turn of the event loop between them do not.
 */
export type TrainerJobHeader =
  | { kind: 'FOREST'; options: TrainOptions; count: number }
  | { kind: 'ANOMALY'; options: AnomalyDetectorOptions; count: number };

export type ForestJobResult =
  | {
      kind: 'FOREST';
      model: ForestModelJson;
      cvAccuracy: number;
      rulesAccuracy: number;
      promoted: boolean;
      labelsUsed: number;
    }
  | {
      kind: 'FOREST';
      model: null;
      rulesAccuracy: number | null;
      labelsUsed: number;
      reason: 'TOO_FEW_LABELS' | 'SINGLE_CATEGORY';
    };

export interface AnomalyJobResult {
  kind: 'ANOMALY';
  model: AnomalyDetectorJson;
  trainedOn: number;
}

export type TrainerResult = ForestJobResult | AnomalyJobResult;

export type TrainerReply =
  { ok: true; result: TrainerResult } | { ok: false; error: { name: string; message: string } };

/** Cheap envelope check; the model inside is validated by its own fromJSON on the main thread. */
export function isTrainerReply(value: unknown): value is TrainerReply {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  if (value.ok === true) {
    return (
      'result' in value &&
      typeof value.result === 'object' &&
      value.result !== null &&
      'kind' in value.result &&
      (value.result.kind === 'FOREST' || value.result.kind === 'ANOMALY')
    );
  }
  return value.ok === false && 'error' in value && typeof value.error === 'object' && value.error !== null;
}
