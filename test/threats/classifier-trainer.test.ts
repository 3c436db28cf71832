import { describe, expect, it } from 'vitest';
import {
  AnomalyDetector,
  ForestClassifier,
  RulesClassifier,
  train,
  type LabelledEvent,
  type TrainOptions,
} from '../../src/threats/classifier/index.js';
import { ClassifierTrainer, ClassifierTrainerError } from '../../src/threats/classifier-trainer.js';
import { generateEvents, profileOf, seededRandom, typicalEvent } from './classifier/synthetic-events.js';

const FAST: TrainOptions = { trees: 8, folds: 4, seed: 7 };

function labelled(count: number): LabelledEvent[] {
  const random = seededRandom(3);
  const categories = ['BRUTEFORCE', 'SCAN', 'EXPLOIT'] as const;
  return Array.from({ length: count }, (_, i) => {
    const label = categories[i % categories.length] ?? 'SCAN';
    return { input: typicalEvent(random, profileOf(label)), label };
  });
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

async function failure(promise: Promise<unknown>): Promise<ClassifierTrainerError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClassifierTrainerError);
  return err as ClassifierTrainerError;
}

describe('ClassifierTrainer (worker thread)', () => {
  it('trains the same forest on its thread as train() does in-process', async () => {
    const events = labelled(90);
    const trainer = new ClassifierTrainer();
    const result = await trainer.trainForest(events, FAST);
    const local = train(events, new RulesClassifier(), FAST);
    if (result.model === null || local.model === null) throw new Error('expected a model');
    const model = ForestClassifier.fromJSON(result.model);
    expect(model.version).toBe(local.model.version);
    expect(result).toMatchObject({
      cvAccuracy: local.cvAccuracy,
      rulesAccuracy: local.rulesAccuracy,
      promoted: local.promoted,
      labelsUsed: 90,
    });
  });

  it('reports too few labels as a result, not an error', async () => {
    const result = await new ClassifierTrainer().trainForest(labelled(10), FAST);
    expect(result).toMatchObject({ model: null, reason: 'TOO_FEW_LABELS', labelsUsed: 10 });
  });

  it('fits an anomaly detector on events sent in several chunks, which loads on the main thread', async () => {
    const events = generateEvents(12_000, 5);
    const fitted = await new ClassifierTrainer().fitAnomaly(events, { seed: 9, trees: 20 });
    const detector = AnomalyDetector.fromJSON(fitted.model);
    const local = AnomalyDetector.fit(events, { seed: 9, trees: 20 });
    expect(fitted.trainedOn).toBe(12_000);
    expect(detector.threshold).toBe(local.threshold);
    expect(detector.score(events[11_999]!)).toEqual(local.score(events[11_999]!));
  });

  it('turns an error thrown by the job into FAILED, and keeps working', async () => {
    const trainer = new ClassifierTrainer();
    const err = await failure(trainer.fitAnomaly(generateEvents(50, 1), { contamination: 2 }));
    expect(err.reason).toBe('FAILED');
    expect(err.message).toMatch(/RangeError: contamination/);
    expect((await trainer.fitAnomaly(generateEvents(50, 1), { seed: 1 })).trainedOn).toBe(50);
  });

  it('survives a thread that throws or exits before replying (CRASHED)', async () => {
    const throws = await failure(
      new ClassifierTrainer({ entry: fixture('trainer-thread-throws.ts') }).trainForest(labelled(60)),
    );
    expect(throws.reason).toBe('CRASHED');
    expect(throws.message).toMatch(/boom/);
    const exits = await failure(
      new ClassifierTrainer({ entry: fixture('trainer-thread-exits.ts') }).trainForest(labelled(60)),
    );
    expect(exits).toMatchObject({ reason: 'CRASHED', message: expect.stringMatching(/code 3/) as string });
  });

  it('runs jobs one at a time: a second job waits for the first', async () => {
    const trainer = new ClassifierTrainer();
    const order: string[] = [];
    const first = trainer.trainForest(labelled(90), FAST).then(() => order.push('forest'));
    const second = trainer
      .fitAnomaly(generateEvents(200, 2), { seed: 1, trees: 5 })
      .then(() => order.push('anomaly'));
    await Promise.all([first, second]);
    expect(order).toEqual(['forest', 'anomaly']);
  });

  it('stop() terminates a busy thread (STOPPED) and refuses later jobs', async () => {
    const trainer = new ClassifierTrainer({ entry: fixture('trainer-thread-spins.ts') });
    const running = failure(trainer.trainForest(labelled(60)));
    const queued = failure(trainer.trainForest(labelled(60)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await trainer.stop();
    expect((await running).reason).toBe('STOPPED');
    expect((await queued).reason).toBe('STOPPED');
    expect((await failure(trainer.fitAnomaly(generateEvents(10, 1), {}))).reason).toBe('STOPPED');
  });
});
