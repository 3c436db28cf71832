/**
 * IOC lookups and enrichment (issue 5). A lookup parses (bad input never reaches a
 * source), serves fresh stored per-source results, fetches the stale ones concurrently
 * — one upstream call per source however many callers ask at once — stores a history
 * row per fetch, merges the summary, fuses the score and publishes `iocEnriched` when
 * the verdict changed. The collector drives the same pass for due IOCs.
 */
import { setMaxListeners } from 'node:events';
import DataLoader from 'dataloader';
import pLimit from 'p-limit';
import { checkInt, checkListLength, checkText } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import {
  encodeCursor,
  OrderedFeed,
  subscribeResumable,
  type StreamStore,
} from '../platform/resumable-stream.js';
import { iocStream, type IocStreamRepository, type PositionedIoc } from './ioc-stream.js';
import { bulkAnswers, planBulk, type IocLookupRecord } from './ioc-bulk.js';
import { parseIoc, parseIocInput } from './ioc-parse.js';
import { checkTags } from './ioc-tags.js';
import type { IocRepository } from './ioc-repository.js';
import {
  NO_SIGHTINGS,
  type IocSightingRepository,
  type IocSightingsRecord,
} from './ioc-sighting-repository.js';
import type { Cursor } from '../platform/page.js';
import {
  IOC_ENRICHED_TOPIC,
  type EnrichmentPage,
  type IocFilter,
  type IocOrder,
  type IocPage,
  type IocRecord,
  type StoredIoc,
  type StoredSources,
} from './ioc-record.js';
import { SingleFlight } from '../platform/single-flight.js';
import type { EnrichLock } from './enrich-lock.js';
import {
  mergeSources,
  nextEnrichAt,
  rescore,
  scoreChanged,
  staleSources,
  toRecord,
  toStored,
  type TtlSeconds,
} from './ioc-summary.js';
import { revisitAtExpiry } from './curation-service.js';
import type { StoredAllowlistMatch } from './curation-types.js';
import type { ParsedIoc } from './ioc-types.js';
import type { SourceHealthRecord, SourceHealthTracker } from './source-health.js';
import type { SourceAdapter, SourceName } from './sources/source-adapter.js';

export interface IocServiceDeps {
  repo: IocRepository;
  sightings: IocSightingRepository;
  adapters: readonly SourceAdapter[];
  lock: EnrichLock;
  bus: EventBus;
  health: SourceHealthTracker;
  logger: Logger;
  ttl: TtlSeconds;
  /** Sources with an API key. */
  configured: ReadonlySet<SourceName>;
  watchMax: number;
  /** Most values per lookupMany call. */
  lookupMax: number;
  /** How long to wait for another instance enriching the same IOC. */
  lockWaitMs: number;
  /** The allowlist entry covering an IOC (CurationService); none when absent. */
  allowlist?: {
    allowlistMatchFor(type: ParsedIoc['type'], value: string): Promise<StoredAllowlistMatch | null>;
  };
  /** Positions of the iocEnriched stream (resumable subscriptions). */
  stream: IocStreamRepository;
  /** How far back an iocEnriched `after` cursor may reach, in milliseconds. */
  resumeWindowMs?: number;
}

/** Default of WS_RESUME_WINDOW_SECONDS. */
const RESUME_WINDOW_MS = 3_600_000;

export interface LookupOptions {
  refresh?: boolean;
  debug?: boolean;
}

/** Bulk lookups enrich this many IOCs at once; the sources' own caps and budgets still apply. */
const BULK_PARALLEL = 8;
/** A lookup served from the store records the use at most this often per IOC. */
const TOUCH_EVERY_MS = 60_000;

interface PassResult {
  ioc: StoredIoc;
  /** Vendor bodies fetched by this pass, by enrichment id. */
  raws: Map<string, unknown>;
}

export class IocService {
  private readonly flights = new SingleFlight<PassResult>();
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private readonly enriched: StreamStore<PositionedIoc>;
  private readonly feed: OrderedFeed<PositionedIoc>;
  /** Stream positions asked for in the same tick share one query (a page of IOCs: one). */
  private readonly positions: DataLoader<string, string>;

  constructor(private readonly deps: IocServiceDeps) {
    this.log = deps.logger.child({ component: 'iocs' });
    this.enriched = iocStream(deps.stream, deps.repo);
    this.feed = new OrderedFeed(deps.bus, this.enriched, deps.logger);
    this.positions = new DataLoader(
      async (ids: readonly string[]) => {
        const found = await deps.stream.positionsOf(ids);
        return ids.map((id) => found.get(id) ?? '0');
      },
      { cache: false },
    );
    // Every in-flight upstream request listens on this one shutdown signal.
    setMaxListeners(0, this.abort.signal);
  }

  /** Stored state only: never calls a source. */
  async get(value: string): Promise<IocRecord | null> {
    const stored = await this.deps.repo.findByValue(parseIoc(value).value);
    return stored ? toRecord(stored) : null;
  }

  /** Stored IOCs by value (canonical values, e.g. event source addresses), in one query. */
  async getMany(values: readonly string[]): Promise<Map<string, IocRecord>> {
    const stored = await this.deps.repo.findByValues(values);
    return new Map(stored.map((s) => [s.value, toRecord(s)]));
  }

  /** Where each IOC was seen (threat events, CrowdSec alerts and decisions), in one query. */
  async sightings(iocs: readonly Pick<IocRecord, 'type' | 'value'>[]): Promise<IocSightingsRecord[]> {
    const found = await this.deps.sightings.sightingsOf(iocs);
    return iocs.map((i) => found.get(i.value) ?? NO_SIGHTINGS);
  }

  async lookup(value: string, opts: LookupOptions = {}): Promise<IocRecord> {
    const { ioc: parsed, ...submitted } = parseIocInput(value);
    const refresh = opts.refresh === true;
    let result: PassResult | undefined;
    if (!refresh) {
      const stored = await this.deps.repo.findByValue(parsed.value);
      if (stored && this.stale(stored).length === 0) {
        result = { ioc: stored, raws: new Map() };
        // Asked about now: keeps it among the recently used IOCs the collector refreshes.
        if (Date.now() - stored.lastSeenAt.getTime() >= TOUCH_EVERY_MS) await this.deps.repo.touch(stored.id);
      }
    }
    result ??= await this.flights.run(`${refresh ? 'refresh' : 'lookup'}:${parsed.value}`, () =>
      this.pass(parsed, refresh),
    );
    return { ...(await this.present(result, opts.debug === true)), submitted };
  }

  /**
   * Many values at once (ioc-bulk.ts): one entry per value in input order, an error entry
   * for a value that does not parse, each distinct IOC enriched once, fresh ones served
   * from the store. Passes start in input order, so a source's budget goes to the
   * earliest values and the rest are deferred (SKIPPED, QUOTA_DEFERRED), not failed.
   */
  async lookupMany(values: readonly string[], opts: LookupOptions = {}): Promise<IocLookupRecord[]> {
    checkListLength('values', values, this.deps.lookupMax);
    const plan = planBulk(values);
    const refresh = opts.refresh === true;
    const parsed = plan.unique.map((s) => s.ioc);
    const stored = await this.deps.repo.registerMany(parsed, false);
    const slots = pLimit(BULK_PARALLEL);
    const results = await Promise.all(
      parsed.map(async (p, i) => {
        const known = stored[i]!;
        if (!refresh && this.stale(known).length === 0)
          return { ioc: known, raws: new Map<string, unknown>() };
        return slots(() =>
          this.flights.run(`${refresh ? 'refresh' : 'lookup'}:${p.value}`, () =>
            this.pass(p, refresh, known),
          ),
        );
      }),
    );
    const records = await Promise.all(results.map((r) => this.present(r, opts.debug === true)));
    return bulkAnswers(plan, new Map(records.map((r, i) => [parsed[i]!.value, r])));
  }

  /** Registers many values for the collector at once; idempotent. */
  async watch(values: readonly string[]): Promise<IocRecord[]> {
    checkListLength('values', values, this.deps.watchMax);
    const parsed = values.map((v, index) => {
      try {
        return parseIocInput(v);
      } catch (err) {
        throw badInput(`values[${index}]: ${(err as Error).message}`, { index });
      }
    });
    const unique = [...new Map(parsed.map(({ ioc }) => [ioc.value, ioc])).values()];
    const stored = await this.deps.repo.registerMany(unique, true);
    const byValue = new Map(stored.map((s) => [s.value, s]));
    return parsed.map(({ ioc, ...submitted }) => ({ ...toRecord(byValue.get(ioc.value)!), submitted }));
  }

  /**
   * Stops keeping these IOCs fresh (they are still re-enriched while looked up or sighted
   * recently); returns how many of them were watched. Bounded like watch.
   */
  async unwatch(values: readonly string[]): Promise<number> {
    checkListLength('values', values, this.deps.watchMax);
    const parsed = values.map((v, index) => {
      try {
        return parseIocInput(v).ioc.value;
      } catch (err) {
        throw badInput(`values[${index}]: ${(err as Error).message}`, { index });
      }
    });
    return this.deps.repo.unwatch(parsed);
  }

  /** Without `withSources`, rows carry no per-source results and an empty score breakdown. */
  async list(
    filter: IocFilter,
    first: number,
    after: Cursor | undefined,
    withSources = true,
    order: IocOrder = 'FIRST_SEEN',
  ): Promise<IocPage> {
    // Risk scores are 0–100; the prefix reaches SQL as text.
    const checked: IocFilter = {
      ...filter,
      minScore: checkInt('filter.minScore', filter.minScore, 0, 100, undefined),
      valuePrefix: checkText('filter.valuePrefix', filter.valuePrefix),
      tagsAny: filter.tagsAny ? checkTags('filter.tagsAny', filter.tagsAny) : null,
      tagsAll: filter.tagsAll ? checkTags('filter.tagsAll', filter.tagsAll) : null,
      noteContains: checkText('filter.noteContains', filter.noteContains),
    };
    const page = await this.deps.repo.list(checked, first, after, withSources, order);
    return {
      ...page,
      rows: page.rows.map((r) => ({ ...toRecord(r), sortKey: { at: r.sortAt, id: r.id } })),
    };
  }

  history(iocId: string, first: number, after: Cursor | undefined): Promise<EnrichmentPage> {
    return this.deps.repo.history(iocId, first, after);
  }

  /**
   * IOCs whose score, level or categories changed (only `value`, when given), from every
   * instance, in stream-position order; with `after`, first the changes after it.
   */
  subscribe(
    value: string | null | undefined,
    after?: string | null,
  ): Promise<AsyncIterableIterator<IocRecord>> {
    const wanted = value === null || value === undefined ? undefined : parseIoc(value).value;
    const matches = wanted === undefined ? () => true : (r: IocRecord) => r.value === wanted;
    return subscribeResumable(this.feed, this.enriched, matches, after, {
      windowMs: this.deps.resumeWindowMs ?? RESUME_WINDOW_MS,
    });
  }

  /** The IOC's cursor in the iocEnriched stream (its last change of score, level or categories). */
  async cursorOf(ioc: IocRecord): Promise<string> {
    const known = (ioc as Partial<PositionedIoc>).streamPosition;
    const position = known ?? (await this.positions.load(ioc.id));
    return encodeCursor('iocEnriched', position);
  }

  sourceHealth(): Promise<SourceHealthRecord[]> {
    return this.deps.health.report();
  }

  /** One collector step for an IOC it claimed. */
  async enrichClaimed(ioc: StoredIoc): Promise<void> {
    let parsed: ParsedIoc;
    try {
      parsed = parseIoc(ioc.value);
    } catch {
      // Stored before a stricter parser: leave it out of the queue rather than retry forever.
      await this.deps.repo.updateSummary(ioc.id, (cur) => ({ ...cur, nextEnrichAt: null }));
      return;
    }
    await this.flights.run(`lookup:${parsed.value}`, () => this.pass(parsed, false));
  }

  stop(): void {
    this.abort.abort();
  }

  private stale(ioc: StoredIoc): SourceName[] {
    return staleSources(ioc.sources, Date.now(), this.deps.ttl, this.deps.configured);
  }

  /** `known`: the IOC's row when the caller has just registered it. */
  private async pass(parsed: ParsedIoc, refresh: boolean, known?: StoredIoc): Promise<PassResult> {
    const started = Date.now();
    const { repo, lock } = this.deps;
    const token = await lock.acquire(parsed.value);
    if (token === null) {
      // Another instance is on it: its stored result is ours once it lets go.
      await lock.waitReleased(parsed.value, this.deps.lockWaitMs);
      const stored = await repo.findByValue(parsed.value);
      const done = refresh
        ? (stored?.lastEnrichedAt?.getTime() ?? 0) >= started
        : stored !== null && this.stale(stored).length === 0;
      if (stored && done) return { ioc: stored, raws: new Map() };
    }
    try {
      return await this.fetchAndStore(parsed, refresh, token === null ? undefined : known);
    } finally {
      if (token !== null) await lock.release(parsed.value, token).catch(() => undefined);
    }
  }

  private async fetchAndStore(parsed: ParsedIoc, refresh: boolean, known?: StoredIoc): Promise<PassResult> {
    const { repo, adapters, ttl, configured } = this.deps;
    const ioc = known ?? (await repo.register(parsed));
    const wanted = new Set(refresh ? adapters.map((a) => a.name) : this.stale(ioc));
    const results = await Promise.all(
      adapters.filter((a) => wanted.has(a.name)).map((a) => a.lookup(parsed, this.abort.signal)),
    );
    for (const r of results) this.deps.health.record(r);
    const fetched = results.filter((r) => r.status !== 'SKIPPED');
    const ids = await repo.insertEnrichments(ioc.id, fetched);
    const raws = new Map<string, unknown>();
    const fresh: StoredSources = {};
    for (const r of results) {
      const at = fetched.indexOf(r);
      const id = at >= 0 ? ids[at] : undefined;
      if (id !== undefined) raws.set(id, r.raw ?? null);
      fresh[r.source] = toStored(r, id);
    }
    const allowlisted = (await this.deps.allowlist?.allowlistMatchFor(parsed.type, parsed.value)) ?? null;
    const now = new Date();
    const { before, after } = await repo.updateSummary(ioc.id, (cur) => {
      const sources = mergeSources(cur.sources, fresh);
      const staleAt = nextEnrichAt(sources, ttl, configured);
      return {
        sources,
        ...rescore(cur, sources, allowlisted, now),
        lastEnrichedAt: results.length > 0 ? now : cur.lastEnrichedAt,
        staleAt,
        nextEnrichAt: revisitAtExpiry(staleAt, cur.verdict),
      };
    });
    if (scoreChanged(before, after)) {
      await this.deps.bus
        .publish(IOC_ENRICHED_TOPIC, toRecord(after))
        .catch((err: unknown) =>
          this.log.warn({ err: (err as Error).message }, 'iocEnriched publish failed'),
        );
    }
    return { ioc: after, raws };
  }

  private async present(result: PassResult, debug: boolean): Promise<IocRecord> {
    if (!debug) return toRecord(result.ioc);
    const ids = Object.values(result.ioc.sources).flatMap((s) => (s?.enrichmentId ? [s.enrichmentId] : []));
    const missing = ids.filter((id) => !result.raws.has(id));
    const raws = new Map([...result.raws, ...(await this.deps.repo.raws(missing))]);
    return toRecord(result.ioc, raws);
  }
}
