/**
 * Classifier throughput: `npx tsx bench/classifier/classifier.ts [events]` (default 200,000).
 *
 * Classifies the same generated events with rules only, rules + isolation forest, and the
 * random forest + isolation forest (what ingestion runs once a model is promoted), beside
 * a baseline loop that only encodes the feature vectors. Also times model fitting, which
 * runs off the ingest path. Prints a Markdown table for docs/benchmarks.md.
 */
import os from 'node:os';

import { AnomalyDetector } from '../../src/threats/classifier/anomaly.js';
import { CompositeClassifier } from '../../src/threats/classifier/composite.js';
import { DEFAULT_TREES } from '../../src/threats/classifier/isolation-forest.js';
import { encodeNumeric, encodeText, FEATURE_COUNT } from '../../src/threats/classifier/features.js';
import { ForestClassifier } from '../../src/threats/classifier/forest-model.js';
import { RulesClassifier } from '../../src/threats/classifier/rules.js';
import { train } from '../../src/threats/classifier/training.js';
import type { Classifier, ClassifierInput, LabelledEvent } from '../../src/threats/classifier/types.js';
import {
  generateEvents,
  PROFILES,
  seededRandom,
  typicalEvent,
} from '../../test/threats/classifier/synthetic-events.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const count = Number(process.argv[2] ?? 200_000);
const events = generateEvents(count, 42);

function labelled(n: number, seed: number): LabelledEvent[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const profile = PROFILES[i % PROFILES.length] ?? PROFILES[0]!;
    return { input: typicalEvent(random, profile), label: profile.category };
  });
}

/**
 * CPU time of this process (user + system), not wall time: the figure is meant to say what
 * classification costs the ingest path, and on a shared machine wall time mostly measures
 * the neighbours. Both are printed.
 */
function time<T>(run: () => T): { ms: number; wallMs: number; result: T } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = run();
  const used = process.cpuUsage(cpu);
  return {
    ms: (used.user + used.system) / 1000,
    wallMs: Number(process.hrtime.bigint() - start) / 1e6,
    result,
  };
}

/** Best of three timed passes after a warm-up pass, so JIT tiering does not count. */
function throughput(name: string, perEvent: (event: ClassifierInput) => number): string {
  let sink = 0;
  for (const event of events) sink += perEvent(event);
  let best = Infinity;
  let bestWall = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const { ms, wallMs } = time(() => {
      for (const event of events) sink += perEvent(event);
    });
    best = Math.min(best, ms);
    bestWall = Math.min(bestWall, wallMs);
  }
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the loop from being optimised away');
  const perSecond = Math.round((count / best) * 1000);
  const micros = ((best * 1000) / count).toFixed(2);
  const wallMicros = ((bestWall * 1000) / count).toFixed(2);
  return `| ${name} | ${perSecond.toLocaleString('en-US')} | ${micros} | ${wallMicros} |`;
}

const classifyScore = (classifier: Classifier) => (event: ClassifierInput) =>
  classifier.classify(event).confidence;

const rules = new RulesClassifier();
const fitAnomaly = time(() => AnomalyDetector.fit(events.slice(0, 10_000), { seed: 1 }));
const anomaly = fitAnomaly.result;
const train500 = time(() => train(labelled(500, 1), rules));
const train2000 = time(() => train(labelled(2000, 2), rules));
const model = train2000.result.model;
if (model === null) throw new Error('training built no model');
// These generated labels agree with the rules, so the model is not promoted; force it for the measurement.
const promotedModel = ForestClassifier.fromJSON({ ...model.toJSON(), promoted: true });

const buffer = new Float64Array(FEATURE_COUNT);
const rows = [
  throughput('baseline: encode feature vectors only', (event) => {
    encodeNumeric(event, buffer);
    encodeText(event, buffer);
    return buffer[0] ?? 0;
  }),
  throughput('rules only', classifyScore(new CompositeClassifier({ rules }))),
  throughput('rules + isolation forest', classifyScore(new CompositeClassifier({ rules, anomaly }))),
  throughput(
    'random forest + isolation forest',
    classifyScore(new CompositeClassifier({ model: promotedModel, anomaly })),
  ),
  throughput('random forest alone', classifyScore(promotedModel)),
];

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
console.log(
  `${count.toLocaleString('en-US')} generated events, Node ${process.version}, ${cpu}, load average ${load}\n`,
);
console.log('| path | events/s per core (CPU time) | CPU µs/event | wall µs/event |');
console.log('|---|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log('\n| fitting (off the ingest path) | CPU time |');
console.log('|---|---:|');
console.log(
  `| isolation forest, ${DEFAULT_TREES} trees × 256, on 10,000 events (incl. threshold) | ${fitAnomaly.ms.toFixed(0)} ms |`,
);
for (const [n, run] of [
  [500, train500],
  [2000, train2000],
] as const) {
  const r = run.result;
  const detail = `cv ${r.cvAccuracy?.toFixed(3)}, rules ${r.rulesAccuracy?.toFixed(3)}, promoted ${r.promoted}`;
  console.log(
    `| random forest train(), ${n} labels, defaults (5-fold CV + final) | ${(run.ms / 1000).toFixed(1)} s (${detail}) |`,
  );
}
console.log(
  `\nmodel JSON sizes: forest ${JSON.stringify(model.toJSON()).length.toLocaleString('en-US')} B, isolation forest ${JSON.stringify(anomaly.toJSON()).length.toLocaleString('en-US')} B`,
);
