import { countryInfo } from '../geo/countries.js';
import type { GeoLocation } from '../geo/geo-types.js';
import { parseIp } from '../geo/ip-address.js';
import { badInput, notFound } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { Classifier, ThreatCategory } from './classifier/index.js';
import type { ThreatEventRepository } from './threat-event-repository.js';
import { buildRecord } from './threat-record.js';
import { subscribeThreats, type ThreatSubscriptionFilter } from './threat-subscription.js';
import {
  THREATS_TOPIC,
  type IngestError,
  type IngestOutcome,
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
  /** After each commit, with the earliest occurredAt stored (stats cache freshness). */
  onStored?: (earliest: Date) => Promise<void>;
}

const MAP_MAX_POINTS = 5000;
const DAY_MS = 86_400_000;

/** Ingestion (validate → GeoIP → classify → one INSERT → publish) and reads of threat events. */
export class ThreatService {
  private readonly log: Logger;

  constructor(private readonly deps: ThreatServiceDeps) {
    this.log = deps.logger.child({ component: 'threats' });
  }

  get maxBatch(): number {
    return this.deps.maxBatch;
  }

  /** Stores one event; a re-sent externalId returns the stored event instead. */
  async ingestOne(input: ThreatEventInputData): Promise<ThreatEventRecord> {
    const outcome = await this.ingestMany([input]);
    const error = outcome.errors[0];
    if (error) throw badInput(error.message, { field: error.field });
    const stored = outcome.events[0];
    if (stored) return stored;
    const [existing] = await this.deps.events.findByExternalIds([input.externalId?.trim() ?? '']);
    if (!existing) throw new Error('duplicate event vanished before it could be read');
    return existing;
  }

  /** Stores the valid events in one statement; resolves only after they are committed. */
  async ingestMany(inputs: readonly ThreatEventInputData[]): Promise<IngestOutcome> {
    const { maxBatch } = this.deps;
    if (inputs.length > maxBatch) {
      throw badInput(`At most ${maxBatch} events per ingestThreatEvents call (got ${inputs.length})`, {
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
    if (valid.length === 0) return { accepted: 0, duplicates: 0, errors, events: [], duplicateIndexes: [] };

    const classifier = this.deps.classifier.classifier; // one model for the whole batch
    const ingestedAt = new Date(now);
    const records = valid.map(({ event }) => buildRecord(event, ingestedAt, this.deps.geo, classifier));
    const inserted = await this.deps.events.insertMany(records);
    const events: ThreatEventRecord[] = [];
    const duplicateIndexes: number[] = [];
    records.forEach((record, k) => {
      const flags = inserted.get(record.id);
      if (flags) events.push(Object.assign(record, flags));
      else duplicateIndexes.push(valid[k]?.index ?? -1);
    });
    if (events.length > 0) {
      const earliest = Math.min(...events.map((e) => new Date(e.occurredAt).getTime()));
      await this.deps.onStored?.(new Date(earliest)).catch((err: unknown) => {
        this.log.warn({ err }, 'post-commit hook failed');
      });
      // After commit (the INSERT above auto-committed). A lost notification must not undo stored events.
      await this.deps.bus.publish(THREATS_TOPIC, events).catch((err: unknown) => {
        this.log.warn({ err, events: events.length }, 'threatDetected notification failed');
      });
    }
    return { accepted: events.length, duplicates: duplicateIndexes.length, errors, events, duplicateIndexes };
  }

  async get(id: string): Promise<ThreatEventRecord | null> {
    if (!isUuid(id)) return null;
    return this.deps.events.findById(id);
  }

  async list(
    filter: ThreatEventFilter,
    first: number,
    after?: { at: Date; id: string },
  ): Promise<ThreatEventPage> {
    const normalised = normaliseFilter(filter);
    if (after && !isUuid(after.id)) throw badInput('after is not a cursor returned by this API');
    const rows = await this.deps.events.list(normalised, first + 1, after);
    return {
      rows: rows.slice(0, first),
      hasNextPage: rows.length > first,
      totalCount: () => this.deps.events.count(normalised),
    };
  }

  async map(
    since: Date | null | undefined,
    minSeverity: number | null | undefined,
  ): Promise<ThreatMapPoint[]> {
    const min = checkSeverity(minSeverity, 'minSeverity') ?? 1;
    const rows = await this.deps.events.map(since ?? new Date(Date.now() - DAY_MS), min, MAP_MAX_POINTS);
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

  /** Newly stored events matching the filter, from every instance (event bus). */
  subscribe(filter: ThreatSubscriptionFilter): AsyncIterableIterator<ThreatEventRecord> {
    checkSeverity(filter.minSeverity, 'minSeverity');
    return subscribeThreats(this.deps.bus, { ...filter, countries: normaliseCountries(filter.countries) });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (id: string) => UUID.test(id);

function checkSeverity(value: number | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > 10)
    throw badInput(`${field} must be between 1 and 10`);
  return value;
}

function normaliseCountries(countries: readonly string[] | null | undefined): string[] | null {
  if (!countries?.length) return null;
  return countries.map((c) => {
    const code = c.trim().toUpperCase();
    if (!/^[A-Z]{2}$/.test(code)) throw badInput(`countries: "${c}" is not an ISO 3166-1 alpha-2 code`);
    return code;
  });
}

function normaliseFilter(filter: ThreatEventFilter): ThreatEventFilter {
  checkSeverity(filter.minSeverity, 'filter.minSeverity');
  let sourceIp: string | null = null;
  if (filter.sourceIp) {
    const parsed = parseIp(filter.sourceIp);
    if (!parsed.ok) throw badInput(`filter.sourceIp: ${parsed.error}`);
    sourceIp = parsed.ip;
  }
  return { ...filter, sourceIp, countries: normaliseCountries(filter.countries) };
}
