import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import type {
  ClassifierModelRepository,
  StoredModel,
} from '../../src/threats/classifier-model-repository.js';
import { ClassifierService } from '../../src/threats/classifier-service.js';
import type { ThreatEventRepository } from '../../src/threats/threat-event-repository.js';

const stored: StoredModel = {
  id: 'm1',
  kind: 'ANOMALY',
  version: 'if-old-layout',
  createdAt: new Date(),
  trainedOn: 500,
  cvAccuracy: null,
  rulesAccuracy: null,
  promoted: false,
};

/** A model store holding one anomaly model written by a build with another feature layout. */
const models: ClassifierModelRepository = {
  save: () => Promise.reject(new Error('not used')),
  latest: (kind) => Promise.resolve(kind === 'ANOMALY' ? stored : null),
  body: () =>
    Promise.resolve({ kind: 'anomaly-detector', formatVersion: 1, featureSpec: 'v0:n3:h8', forest: {} }),
  list: () => Promise.resolve([stored]),
  prune: () => Promise.resolve(0),
};

describe('ClassifierService with an unreadable stored model', () => {
  it('starts, classifies with the rules and reports the model as inactive', async () => {
    const bus = new MemoryEventBus();
    const service = new ClassifierService(
      models,
      {} as ThreatEventRepository,
      bus,
      pino({ level: 'silent' }),
      {
        anomalySample: 1000,
      },
    );
    await service.start();
    const result = service.classifier.classify({
      threatType: 'ssh_bruteforce',
      description: null,
      protocol: 'tcp',
      sourcePort: null,
      destinationPort: 22,
      severity: 5,
      confidence: 1,
      tags: [],
    });
    expect(result).toMatchObject({ category: 'BRUTEFORCE', method: 'RULES', anomalyScore: null });
    expect(await service.list(null, 10)).toEqual([{ ...stored, active: false }]);
    await service.stop();
    await bus.close();
  });
});
