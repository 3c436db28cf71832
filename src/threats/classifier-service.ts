import { randomBytes } from 'node:crypto';
import { AppError, badInput } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import {
  AnomalyDetector,
  CompositeClassifier,
  ForestClassifier,
  MAX_LABELS,
  MIN_LABELS,
  type Classifier,
} from './classifier/index.js';
import { ClassifierTrainer, ClassifierTrainerError } from './classifier-trainer.js';
import type { ClassifierModelRepository, StoredModel } from './classifier-model-repository.js';
import type { ThreatEventRepository } from './threat-event-repository.js';
import type { ClassifierModelKind, ClassifierModelRecord } from './threat-types.js';

/** Tells every instance that a new model was stored, so that all classify alike. */
export const CLASSIFIER_TOPIC = 'threats.classifier-updated';
/** Fewest recent events an anomaly model is fitted on. */
export const MIN_ANOMALY_EVENTS = 100;
/**
 * Trees in the online anomaly model. Scoring walks every tree for every ingested event;
 * at the paper's 100 trees it was ~15 % of server CPU in bench/ingest.ts, at 50 about
 * half that, and outlier-vs-typical margins stayed the same on the test data.
 */
export const ANOMALY_TREES = 50;
/** Models kept per kind (older ones are deleted after each save). */
const KEEP_MODELS = 20;

export interface ClassifierServiceOptions {
  /** Most recent events an anomaly refit looks at. */
  anomalySample: number;
}

/**
 * Owns the classifier that ingestion uses: loads the newest models from PostgreSQL,
 * trains and refits them, and swaps the immutable CompositeClassifier when a model
 * changes (here or on another instance).
 *
 * Training and fitting run on the ClassifierTrainer's worker thread; this thread only
 * reads the events, deserialises the returned model and stores it. A request for a kind
 * of model whose training is already under way joins it and gets the same model (a
 * second `trainClassifier` during the first would otherwise queue ~18 s of CPU to
 * produce nearly the same forest); labels added meanwhile go into the next training.
 */
export class ClassifierService {
  private current = new CompositeClassifier();
  /** Newest stored versions last looked at, and the ones actually in use (loaded without error). */
  private seen: Record<ClassifierModelKind, string | null> = { FOREST: null, ANOMALY: null };
  private loaded: Record<ClassifierModelKind, string | null> = { FOREST: null, ANOMALY: null };
  private reloading: Promise<void> | undefined;
  private subscription: AsyncIterableIterator<unknown> | undefined;
  private readonly inFlight = new Map<ClassifierModelKind, Promise<ClassifierModelRecord>>();
  private readonly log: Logger;

  constructor(
    private readonly models: ClassifierModelRepository,
    private readonly events: ThreatEventRepository,
    private readonly bus: EventBus,
    logger: Logger,
    private readonly options: ClassifierServiceOptions,
    private readonly trainer = new ClassifierTrainer(),
  ) {
    this.log = logger.child({ component: 'classifier' });
  }

  /** The classifier to use now; callers take it once per batch. */
  get classifier(): Classifier {
    return this.current;
  }

  /** Loads the newest models and follows updates published by any instance. */
  async start(): Promise<void> {
    await this.reload();
    const sub = this.bus.subscribe<unknown>(CLASSIFIER_TOPIC);
    this.subscription = sub;
    void (async () => {
      for await (const _ of sub)
        await this.reload().catch((err: unknown) => this.log.warn({ err }, 'model reload failed'));
    })();
  }

  /** Also terminates a training in progress: its callers get a ClassifierTrainerError (STOPPED). */
  async stop(): Promise<void> {
    await this.trainer.stop();
    await this.subscription?.return?.();
  }

  /** Terminates a training or fit in progress and refuses new ones (at shutdown). */
  stopTraining(): Promise<void> {
    return this.trainer.stop();
  }

  /** Loads any model whose newest version differs from the one in use. Calls run one after another. */
  reload(): Promise<void> {
    const run = (this.reloading ?? Promise.resolve()).catch(() => undefined).then(() => this.doReload());
    this.reloading = run;
    return run;
  }

  private async doReload(): Promise<void> {
    const [forest, anomaly] = await Promise.all([
      this.models.latest('FOREST'),
      this.models.latest('ANOMALY'),
    ]);
    if ((forest?.version ?? null) === this.seen.FOREST && (anomaly?.version ?? null) === this.seen.ANOMALY)
      return;
    const [forestBody, anomalyBody] = await Promise.all([
      forest ? this.models.body(forest.id) : null,
      anomaly ? this.models.body(anomaly.id) : null,
    ]);
    // A stored model this build cannot read (e.g. its feature layout changed in an upgrade)
    // is skipped, never fatal: classification falls back to the rules / no anomaly score
    // until the next training or refit stores a compatible one.
    const model =
      forest && forestBody ? this.parse(forest.version, () => ForestClassifier.fromJSON(forestBody)) : null;
    const detector =
      anomaly && anomalyBody
        ? this.parse(anomaly.version, () => AnomalyDetector.fromJSON(anomalyBody))
        : null;
    this.current = new CompositeClassifier({ model, anomaly: detector });
    this.seen = { FOREST: forest?.version ?? null, ANOMALY: anomaly?.version ?? null };
    this.loaded = {
      FOREST: model ? (forest?.version ?? null) : null,
      ANOMALY: detector ? (anomaly?.version ?? null) : null,
    };
    this.log.info(
      { forest: this.loaded.FOREST, promoted: model?.promoted ?? false, anomaly: this.loaded.ANOMALY },
      'classifier models loaded',
    );
  }

  private parse<T>(version: string, load: () => T): T | null {
    try {
      return load();
    } catch (err) {
      this.log.warn(
        { version, err: (err as Error).message },
        'stored classifier model cannot be used; ignoring it',
      );
      return null;
    }
  }

  /** Trains a forest from the newest labels; it classifies only if promoted (it beat the rules). */
  train(): Promise<ClassifierModelRecord> {
    return this.once('FOREST', () => this.trainForest());
  }

  private async trainForest(): Promise<ClassifierModelRecord> {
    const labelled = await this.events.labelled(MAX_LABELS);
    const result = await this.trainer.trainForest(labelled).catch(whenStopped);
    if (result.model === null) {
      const why =
        result.reason === 'TOO_FEW_LABELS'
          ? `at least ${MIN_LABELS} labelled events are needed (there are ${result.labelsUsed})`
          : 'the labelled events must span at least two categories';
      throw badInput(`Cannot train the classifier: ${why}`, {
        reason: result.reason,
        labels: result.labelsUsed,
      });
    }
    // Deserialising validates what the thread sent before it reaches the database.
    const model = ForestClassifier.fromJSON(result.model);
    const stored = await this.store({
      kind: 'FOREST',
      version: model.version,
      trainedOn: result.labelsUsed,
      cvAccuracy: result.cvAccuracy,
      rulesAccuracy: result.rulesAccuracy,
      promoted: result.promoted,
      model: model.toJSON(),
    });
    this.log.info(
      {
        version: stored.version,
        cv: result.cvAccuracy,
        rules: result.rulesAccuracy,
        promoted: result.promoted,
      },
      'forest trained',
    );
    return stored;
  }

  /** Fits a new anomaly model on the most recent events. */
  refitAnomaly(): Promise<ClassifierModelRecord> {
    return this.once('ANOMALY', () => this.fitAnomaly());
  }

  private async fitAnomaly(): Promise<ClassifierModelRecord> {
    const recent = await this.events.recent(this.options.anomalySample);
    if (recent.length < MIN_ANOMALY_EVENTS) {
      throw badInput(
        `Cannot fit the anomaly model: at least ${MIN_ANOMALY_EVENTS} events are needed (there are ${recent.length})`,
      );
    }
    const seed = randomBytes(4).readUInt32LE(0);
    const fitted = await this.trainer.fitAnomaly(recent, { seed, trees: ANOMALY_TREES }).catch(whenStopped);
    const detector = AnomalyDetector.fromJSON(fitted.model);
    return this.store({
      kind: 'ANOMALY',
      version: `if-${Date.now().toString(36)}-${seed.toString(16).padStart(8, '0')}`,
      trainedOn: fitted.trainedOn,
      cvAccuracy: null,
      rulesAccuracy: null,
      promoted: false,
      model: detector.toJSON(),
    });
  }

  /** Scheduled training: only when enough labels exist and some arrived since the last forest. */
  async trainIfDue(): Promise<ClassifierModelRecord | null> {
    const last = await this.models.latest('FOREST');
    const fresh = await this.events.countLabelsSince(last?.createdAt ?? null);
    if (fresh === 0 || (last === null && fresh < MIN_LABELS)) return null;
    const total = await this.events.countLabelsSince(null);
    if (total < MIN_LABELS) return null;
    return this.train();
  }

  /** Scheduled refit: skipped when another instance refitted within `intervalMs` or too few events exist. */
  async refitIfDue(intervalMs: number): Promise<ClassifierModelRecord | null> {
    const last = await this.models.latest('ANOMALY');
    if (last && Date.now() - last.createdAt.getTime() < intervalMs * 0.9) return null;
    try {
      return await this.refitAnomaly();
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'BAD_USER_INPUT') return null;
      throw err;
    }
  }

  /** Runs `op` unless one for the same kind is in flight, whose outcome is then shared. */
  private once(
    kind: ClassifierModelKind,
    op: () => Promise<ClassifierModelRecord>,
  ): Promise<ClassifierModelRecord> {
    const running = this.inFlight.get(kind);
    if (running) return running;
    const started = op().finally(() => this.inFlight.delete(kind));
    this.inFlight.set(kind, started);
    return started;
  }

  async list(kind: ClassifierModelKind | null, take: number): Promise<ClassifierModelRecord[]> {
    return (await this.models.list(kind, take)).map((m) => this.withActive(m));
  }

  private async store(
    model: Parameters<ClassifierModelRepository['save']>[0],
  ): Promise<ClassifierModelRecord> {
    const stored = await this.models.save(model);
    await this.models.prune(model.kind, KEEP_MODELS);
    await this.reload();
    await this.bus
      .publish(CLASSIFIER_TOPIC, { kind: stored.kind, version: stored.version })
      .catch((err: unknown) => {
        this.log.warn(
          { err },
          'could not announce the new model; other instances pick it up on their next reload',
        );
      });
    return this.withActive(stored);
  }

  private withActive(m: StoredModel): ClassifierModelRecord {
    const inUse = this.loaded[m.kind] === m.version && (m.kind === 'ANOMALY' || m.promoted);
    return { ...m, active: inUse };
  }
}

/** A job cut short by shutdown is the caller's to retry, not an internal failure. */
export class TrainingStoppedError extends AppError {
  constructor() {
    super('UPSTREAM_UNAVAILABLE', 'Training was stopped because this instance is shutting down; retry');
  }
}

function whenStopped(err: unknown): never {
  if (err instanceof ClassifierTrainerError && err.reason === 'STOPPED') throw new TrainingStoppedError();
  throw err;
}
