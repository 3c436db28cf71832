/**
 * Event-loop stall while models are trained: `npx tsx bench/classifier-event-loop/classifier-event-loop.ts [labels] [events]`
 * (defaults 500 labels, 10,000 anomaly events, the service's settings).
 *
 * Trains the random forest and fits the anomaly model once on the main thread (as
 * ClassifierService did before) and once through ClassifierTrainer's worker thread (as it
 * does now), and prints the wall time and the largest event-loop delay seen meanwhile
 * (perf_hooks.monitorEventLoopDelay at 10 ms resolution): the longest time every HTTP
 * request and WebSocket of the API would have waited.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

import {
  AnomalyDetector,
  ForestClassifier,
  RulesClassifier,
  train,
} from '../../src/threats/classifier/index.js';
import { ANOMALY_TREES } from '../../src/threats/classifier-service.js';
import { ClassifierTrainer } from '../../src/threats/classifier-trainer.js';
import type { LabelledEvent } from '../../src/threats/classifier/types.js';
import {
  generateEvents,
  PROFILES,
  seededRandom,
  typicalEvent,
} from '../../test/threats/classifier/synthetic-events.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const labelCount = Number(process.argv[2] ?? 500);
const eventCount = Number(process.argv[3] ?? 10_000);

const random = seededRandom(42);
const labelled: LabelledEvent[] = Array.from({ length: labelCount }, (_, i) => {
  const profile = PROFILES[i % PROFILES.length] ?? PROFILES[0]!;
  return { input: typicalEvent(random, profile), label: profile.category };
});
const events = generateEvents(eventCount, 7);
const anomalyOptions = { seed: 1, trees: ANOMALY_TREES };

async function measure(name: string, run: () => Promise<unknown>): Promise<string> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  // Let the histogram's timer tick once before the work starts, or a stall right at the
  // start would not be seen.
  loop.enable();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const start = performance.now();
  await run();
  const wall = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 50));
  loop.disable();
  const row = `| ${name} | ${(wall / 1000).toFixed(2)} s | ${(loop.max / 1e6).toFixed(0)} ms |`;
  console.log(row);
  return row;
}

const trainer = new ClassifierTrainer();
console.log(`${labelCount} labels, ${eventCount} anomaly events, node ${process.version}\n`);
console.log('| work | wall | max event-loop delay |');
console.log('| --- | ---: | ---: |');
await measure(`forest \`train()\`, ${labelCount} labels, main thread (before)`, async () => {
  train(labelled, new RulesClassifier());
  await Promise.resolve();
});
await measure(`forest, ${labelCount} labels, worker thread (now)`, async () => {
  const result = await trainer.trainForest(labelled);
  if (result.model) ForestClassifier.fromJSON(result.model);
});
await measure(`anomaly fit, ${eventCount} events, main thread (before)`, async () => {
  AnomalyDetector.fit(events, anomalyOptions);
  await Promise.resolve();
});
await measure(`anomaly fit, ${eventCount} events, worker thread (now)`, async () => {
  AnomalyDetector.fromJSON((await trainer.fitAnomaly(events, anomalyOptions)).model);
});
await trainer.stop();
