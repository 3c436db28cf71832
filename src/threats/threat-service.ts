import { countryInfo } from '../geo/countries.js';
import type { GeoLocation } from '../geo/geo-types.js';
import { badInput, notFound } from '../platform/errors.js';
import { isUuid } from '../platform/uuid.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import { pageOf, type Cursor } from '../platform/page.js';
import { WriteCoalescer } from '../platform/write-coalescer.js';
import type { Classifier, ThreatCategory } from './classifier/index.js';
import type { ThreatEventRepository } from './threat-event-repository.js';
import type { ThreatStatsRepository } from './threat-stats-repository.js';
import { buildRecord } from './threat-record.js';
import {
  checkSeverity,
  checkDate,
  compileSubscriptionFilter,
  mapWindow,
  checkCategories,
  normaliseFilter,
  type ThreatSubscriptionArgs,
} from './threat-filters.js';
import { OrderedFeed, subscribeResumable, type StreamStore } from '../platform/resumable-stream.js';
import { threatStream } from './threat-subscription.js';
import {
  THREATS_TOPIC,
  type IngestError,
  type IngestOutcome,
  type ThreatEventField,
  type ThreatEventFilter,
  type ThreatEventInputData,
  type ThreatEventPage,
  type ThreatEventRecord,
  type ThreatMapPoint,
} from './threat-types.js';
import { validateEvent, type ValidEvent } from './threat-validation.js';

export interface ThreatServiceDeps {
  events: ThreatEventRepository;
  geo: { locate(ip: string): GeoLocation | null };
  classifier: { readonly classifier: Classifier };
  bus: EventBus;
  logger: Logger;
  /** Most events one ingestThreatEvents call may carry. */
  maxBatch: number;
  /** threatMap's points, from the rollups. */
  maps: Pick<ThreatStatsRepository, 'map'>;
  /** How far back a threatDetected `after` cursor may reach, in milliseconds. */
  resumeWindowMs?: number;
}

/** Default of WS_RESUME_WINDOW_SECONDS. */
const RESUME_WINDOW_MS = 3_600_000;

const MAP_MAX_POINTS = 5000;
/** Single-event INSERTs running at once; events arriving meanwhile share the next one. */
const SINGLE_WRITES_IN_FLIGHT = 2;

/** Ingestion (validate → GeoIP → classify → one INSERT → publish) and reads of threat events. */
export class ThreatService {
  private readonly log: Logger;
  private readonly singles: WriteCoalescer<ValidEvent, ThreatEventRecord>;
  private readonly stream: StreamStore<ThreatEventRecord>;
  private readonly feed: OrderedFeed<ThreatEventRecord>;

  constructor(private readonly deps: ThreatServiceDeps) {
    this.log = deps.logger.child({ component: 'threats' });
    this.stream = threatStream(deps.events);
    this.feed = new OrderedFeed(deps.bus, this.stream, deps.logger);
    this.singles = new WriteCoalescer((events) => this.storeSingles(events), {
      maxBatch: deps.maxBatch,
      maxConcurrent: SINGLE_WRITES_IN_FLIGHT,
      // A group that failed for a reason of its own (a row the database refused) is
      // retried event by event, so one sender's bad event fails only that sender; an
      // unreachable database fails every event anyway and is not retried per event.
      retryAlone: (err) => classifyFailure(err)?.code !== 'UPSTREAM_UNAVAILABLE',
    });
  }

  get maxBatch(): number {
    return this.deps.maxBatch;
  }

  /**
   * Stores one event; a re-sent externalId returns the stored event instead. Concurrent
   * single events are written together (group commit, write-coalescer.ts).
   */
  async ingestOne(input: ThreatEventInputData): Promise<ThreatEventRecord> {
    const result = validateEvent(input, Date.now());
    if (!result.ok) throw badInput(result.error.message, { field: result.error.field, argument: 'input' });
    return this.singles.submit(result.event);
  }

  /** Stores the valid events in one statement; resolves only after they are committed. */
  async ingestMany(inputs: readonly ThreatEventInputData[]): Promise<IngestOutcome> {
    const { maxBatch } = this.deps;
    if (inputs.length > maxBatch) {
      throw badInput(`At most ${maxBatch} events per ingestThreatEvents call (got ${inputs.length})`, {
        argument: 'inputs',
        limit: maxBatch,
      });
    }
    const now = Date.now();
    const errors: IngestError[] = [];
    const valid: { index: number; event: ValidEvent }[] = [];
    inputs.forEach((input, index) => {
      const result = validateEvent(input, now);
      if (result.ok) valid.push({ index, event: result.event });
      else errors.push({ index, ...result.error });
    });
    const stored = await this.storeIsolating(valid, errors);
    const events: ThreatEventRecord[] = [];
    const duplicateIndexes: number[] = [];
    stored.forEach((record, k) => {
      if (record) events.push(record);
      else if (record === null) duplicateIndexes.push(valid[k]?.index ?? -1);
    });
    errors.sort((a, b) => a.index - b.index);
    return { accepted: events.length, duplicates: duplicateIndexes.length, errors, events, duplicateIndexes };
  }

  /**
   * store(); should the database still refuse a batch that passed validation, the batch
   * is split in halves until each refused event is alone, so the others are stored and
   * only it comes back in `errors` (undefined in the result). An unavailable database
   * fails the call: no event can be stored then.
   */
  private async storeIsolating(
    items: readonly { index: number; event: ValidEvent }[],
    errors: IngestError[],
  ): Promise<(ThreatEventRecord | null | undefined)[]> {
    if (items.length === 0) return [];
    try {
      return await this.store(items.map((i) => i.event));
    } catch (err) {
      const failure = classifyFailure(err);
      if (failure?.code === 'UPSTREAM_UNAVAILABLE') throw err;
      if (items.length === 1) {
        this.log.warn({ err, index: items[0]!.index }, 'an event that passed validation was refused');
        const message =
          failure?.code === 'BAD_USER_INPUT' ? failure.message : 'the event could not be stored';
        errors.push({ index: items[0]!.index, field: null, message });
        return [undefined];
      }
      const half = Math.ceil(items.length / 2);
      const first = await this.storeIsolating(items.slice(0, half), errors);
      return [...first, ...(await this.storeIsolating(items.slice(half), errors))];
    }
  }

  /** The write behind ingestOne: one statement for all, then the stored copy of each duplicate. */
  private async storeSingles(events: readonly ValidEvent[]): Promise<(ThreatEventRecord | Error)[]> {
    const stored = await this.store(events);
    const resent = events.filter((_, k) => stored[k] === null).map((e) => e.externalId ?? '');
    const existing = resent.length > 0 ? await this.deps.events.findByExternalIds(resent) : [];
    const byExternalId = new Map(existing.map((e) => [e.externalId, e]));
    return stored.map(
      (record, k) =>
        record ??
        byExternalId.get(events[k]?.externalId ?? null) ??
        new Error('duplicate event vanished before it could be read'),
    );
  }

  /**
   * GeoIP + classification, one INSERT, then the post-commit hook and one publish.
   * Returns each event's stored record, or null where its externalId was already stored.
   */
  private async store(valid: readonly ValidEvent[]): Promise<(ThreatEventRecord | null)[]> {
    if (valid.length === 0) return [];
    const classifier = this.deps.classifier.classifier; // one model for the whole batch
    const ingestedAt = new Date();
    const records = valid.map((event) => buildRecord(event, ingestedAt, this.deps.geo, classifier));
    const inserted = await this.deps.events.insertMany(records);
    const stored = records.map((record) => {
      const flags = inserted.get(record.id);
      return flags ? Object.assign(record, flags) : null;
    });
    const events = stored.filter((e): e is ThreatEventRecord => e !== null);
    if (events.length > 0) {
      // After commit (the INSERT above auto-committed): a lost notification must not undo
      // stored events (resuming subscribers read what they missed from the table).
      await this.deps.bus.publish(THREATS_TOPIC, events).catch((err: unknown) => {
        this.log.warn({ err, events: events.length }, 'threatDetected notification failed');
      });
    }
    return stored;
  }

  async get(id: string): Promise<ThreatEventRecord | null> {
    if (!isUuid(id)) return null;
    return this.deps.events.findById(id);
  }

  /** With `fields`, rows carry only those fields (and id, occurredAt): the others are undefined. */
  async list(
    filter: ThreatEventFilter,
    first: number,
    after?: Cursor,
    fields?: ReadonlySet<ThreatEventField>,
  ): Promise<ThreatEventPage> {
    const normalised = normaliseFilter(filter);
    if (after && (!isUuid(after.id) || checkDate(after.at, 'after') === null))
      throw badInput('after is not a cursor returned by this API', { argument: 'after' });
    const rows = await this.deps.events.list(normalised, first + 1, after, fields);
    return pageOf(rows, first, () => this.deps.events.count(normalised));
  }

  async map(
    since: Date | null | undefined,
    until: Date | null | undefined,
    minSeverity: number | null | undefined,
    categories: readonly ThreatCategory[] | null | undefined,
  ): Promise<ThreatMapPoint[]> {
    const min = checkSeverity(minSeverity, 'minSeverity') ?? 1;
    const only = checkCategories(categories, 'categories');
    const rows = await this.deps.maps.map(mapWindow(since, until, Date.now()), min, only, MAP_MAX_POINTS);
    return rows.map((r) => ({ ...r, countryName: r.countryCode ? countryInfo(r.countryCode).name : null }));
  }

  async label(id: string, category: ThreatCategory, labelledBy: string | null): Promise<ThreatEventRecord> {
    if (!isUuid(id) || !(await this.deps.events.setLabel(id, category, labelledBy))) {
      throw notFound(`No threat event with id ${id}`);
    }
    const event = await this.deps.events.findById(id);
    if (!event) throw notFound(`No threat event with id ${id}`);
    return event;
  }

  /**
   * Newly stored events matching the filter, from every instance, in stream-position
   * order; with `after` (a cursor of this stream), first the stored ones after it.
   */
  subscribe(
    args: ThreatSubscriptionArgs & { after?: string | null },
  ): Promise<AsyncIterableIterator<ThreatEventRecord>> {
    const matches = compileSubscriptionFilter(args);
    return subscribeResumable(this.feed, this.stream, matches, args.after, {
      windowMs: this.deps.resumeWindowMs ?? RESUME_WINDOW_MS,
    });
  }
}
