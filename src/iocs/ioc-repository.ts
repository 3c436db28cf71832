/**
 * PostgreSQL access for IOCs and their enrichment history: the service never sees SQL. Raw SQL on
 * the shared pool: the collector needs FOR UPDATE SKIP LOCKED, the summary merge a row
 * lock, and bulk watch an unnest insert — all simpler and faster here than via Prisma.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ParsedIoc } from './ioc-types.js';
import { inTransaction } from '../platform/database.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import { listStatement, pageOf, RowCounter, type Cursor, type Page } from '../platform/page.js';
import { hostAddress } from './allowlist.js';
import { jsonOrNull } from './curation-repository.js';
import type { ScoreSource, StoredAllowlistMatch, StoredVerdict } from './curation-types.js';
import type { EnrichmentRecord, IocFilter, IocOrder, StoredIoc, StoredSources } from './ioc-record.js';
import type { SourceResult } from './sources/source-adapter.js';

const IOC_COLUMNS = `id, type, value, risk_score, risk_level, categories, sources, watched, first_seen_at,
  last_seen_at, last_enriched_at, next_enrich_at, stale_at, last_sighted_at, verdict, allowlisted_by, tags, note,
  score_valid_until, lapsed_score, lapsed_level`;

/** An enriched IOC as a webhook sees it (IOC_ENRICHED). */
const IOC_PAYLOAD = `jsonb_build_object('id', up.id, 'type', up.type, 'value', up.value, 'riskScore', up.risk_score,
  'riskLevel', up.risk_level, 'categories', up.categories, 'watched', up.watched,
  'lastEnrichedAt', up.last_enriched_at, 'verdict', up.verdict -> 'verdict')`;

interface IocRow {
  id: string;
  type: StoredIoc['type'];
  value: string;
  risk_score: number | null;
  risk_level: StoredIoc['riskLevel'];
  categories: StoredIoc['categories'] | null;
  sources: StoredSources;
  watched: boolean;
  first_seen_at: Date;
  last_seen_at: Date;
  last_enriched_at: Date | null;
  next_enrich_at: Date | null;
  stale_at: Date | null;
  last_sighted_at: Date | null;
  tags: string[] | null;
  note: string | null;
  verdict: StoredVerdict | null;
  allowlisted_by: StoredAllowlistMatch | null;
  score_valid_until: Date | null;
  lapsed_score: number | null;
  lapsed_level: StoredIoc['riskLevel'];
}

const toIoc = (r: IocRow): StoredIoc => ({
  id: r.id,
  type: r.type,
  value: r.value,
  riskScore: r.risk_score,
  riskLevel: r.risk_level,
  categories: r.categories ?? [],
  sources: r.sources,
  watched: r.watched,
  firstSeenAt: r.first_seen_at,
  lastSeenAt: r.last_seen_at,
  lastEnrichedAt: r.last_enriched_at,
  nextEnrichAt: r.next_enrich_at,
  staleAt: r.stale_at,
  lastSightedAt: r.last_sighted_at,
  tags: r.tags ?? [],
  note: r.note,
  verdict: r.verdict,
  allowlistedBy: r.allowlisted_by,
  scoreValidUntil: r.score_valid_until,
  lapsedScore: r.lapsed_score,
  lapsedLevel: r.lapsed_level,
});

/**
 * The fields an enrichment pass writes back; a verdict change also sets `verdict`, and
 * a (re-)scoring the covering allowlist entry and the sources that counted (`answered`,
 * kept in the score history when the score or level changes).
 */
export type IocSummaryUpdate = Pick<
  StoredIoc,
  'riskScore' | 'riskLevel' | 'categories' | 'sources' | 'lastEnrichedAt' | 'nextEnrichAt'
> & {
  /** When the first result goes stale; kept unless given. */
  staleAt?: Date | null;
  verdict?: StoredVerdict | null;
  allowlistedBy?: StoredAllowlistMatch | null;
  answered?: ScoreSource[];
  /** When the score stops being valid and the score from then on (ioc-summary.ts rescore). */
  scoreValidUntil?: Date | null;
  lapsedScore?: number | null;
  lapsedLevel?: StoredIoc['riskLevel'];
};

/** Runs inside the summary's transaction, after the update: an audit row, say. */
export type InTransaction = (client: pg.PoolClient, before: StoredIoc, after: StoredIoc) => Promise<void>;

export class IocRepository {
  private readonly counter: RowCounter;

  constructor(
    private readonly pool: pg.Pool,
    private readonly outbox: Outbox = NO_OUTBOX,
  ) {
    this.counter = new RowCounter(pool);
  }

  async findByValue(value: string): Promise<StoredIoc | null> {
    const { rows } = await this.pool.query<IocRow>(`SELECT ${IOC_COLUMNS} FROM iocs WHERE value = $1`, [
      value,
    ]);
    return rows[0] ? toIoc(rows[0]) : null;
  }

  /** The stored IOCs among these values, in one query; values not stored are absent. */
  async findByValues(values: readonly string[]): Promise<StoredIoc[]> {
    if (values.length === 0) return [];
    const { rows } = await this.pool.query<IocRow>({
      name: 'iocs_by_values',
      text: `SELECT ${IOC_COLUMNS} FROM iocs WHERE value = ANY($1::text[])`,
      values: [[...new Set(values)]],
    });
    return rows.map(toIoc);
  }

  /** Registers (or touches) one IOC; `watch` also hands it to the collector. */
  async register(ioc: ParsedIoc, watch = false): Promise<StoredIoc> {
    return (await this.registerMany([ioc], watch))[0]!;
  }

  /** Bulk, idempotent: one statement whatever the count; rows come back in input order. */
  async registerMany(iocs: readonly ParsedIoc[], watch: boolean): Promise<StoredIoc[]> {
    if (iocs.length === 0) return [];
    const { rows } = await this.pool.query<IocRow & { inserted: boolean }>(
      `INSERT INTO iocs (id, type, value, watched, next_enrich_at, host_ip)
       SELECT gen_random_uuid(), t, v, $3, CASE WHEN $3 THEN now() END, h
       FROM unnest($1::"IocType"[], $2::text[], $4::inet[]) AS u(t, v, h)
       ON CONFLICT (value) DO UPDATE SET last_seen_at = now(),
         host_ip = COALESCE(iocs.host_ip, EXCLUDED.host_ip),
         watched = iocs.watched OR EXCLUDED.watched,
         next_enrich_at = CASE WHEN $3 THEN COALESCE(iocs.next_enrich_at, now())
           ELSE COALESCE(iocs.next_enrich_at, iocs.stale_at) END
       RETURNING ${IOC_COLUMNS}, (xmax = 0) AS inserted`,
      [
        iocs.map((i) => i.type),
        iocs.map((i) => i.value),
        watch,
        iocs.map((i) => hostAddress(i.type, i.value)),
      ],
    );
    this.counter.invalidate();
    // The triggers keep last_sighted_at from here on; sightings before the IOC existed
    // are read once, for new IOCs only.
    const fresh = rows.filter((r) => r.inserted).map((r) => r.id);
    if (fresh.length > 0) {
      await this.pool.query({
        name: 'iocs_first_sighted',
        text: `UPDATE iocs SET last_sighted_at = ${LAST_SIGHTED_SQL} WHERE id = ANY($1::uuid[])`,
        values: [fresh],
      });
    }
    const byValue = new Map(rows.map((r) => [r.value, toIoc(r)]));
    return iocs.map((i) => byValue.get(i.value)!);
  }

  /** One history row per upstream fetch; returns their ids in input order. */
  async insertEnrichments(iocId: string, results: readonly SourceResult[]): Promise<string[]> {
    if (results.length === 0) return [];
    const ids = results.map(() => randomUUID());
    const values: unknown[] = [];
    const tuples = results.map((r, i) => {
      values.push(
        ids[i],
        iocId,
        r.source,
        r.status,
        r.score,
        r.categories,
        JSON.stringify(r.data),
        r.raw === undefined ? null : JSON.stringify(r.raw),
        r.error ?? null,
        r.errorKind ?? null,
        r.durationMs,
        r.fetchedAt,
      );
      const b = i * 12;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10}, $${b + 11}, $${b + 12})`;
    });
    await this.pool.query(
      `INSERT INTO enrichments (id, ioc_id, source, status, score, categories, data, raw, error, error_kind,
         duration_ms, fetched_at) VALUES ${tuples.join(', ')}`,
      values,
    );
    this.counter.invalidate();
    return ids;
  }

  /**
   * Read-modify-write of the summary under a row lock, so concurrent passes that
   * fetched different sources merge instead of overwriting each other.
   */
  async updateSummary(
    id: string,
    compute: (current: StoredIoc) => IocSummaryUpdate,
    also?: InTransaction,
  ): Promise<{ before: StoredIoc; after: StoredIoc }> {
    const result = await inTransaction(this.pool, async (client) => {
      const locked = await client.query<IocRow>(`SELECT ${IOC_COLUMNS} FROM iocs WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (!locked.rows[0]) throw new Error(`IOC ${id} disappeared during enrichment`);
      const before = toIoc(locked.rows[0]);
      const u = compute(before);
      const { rows } = await client.query<IocRow>(
        `UPDATE iocs SET risk_score = $2, risk_level = $3, categories = $4, sources = $5,
         last_enriched_at = $6, next_enrich_at = $7, verdict = $8, allowlisted_by = $9, stale_at = $10,
         score_valid_until = $11, lapsed_score = $12, lapsed_level = $13
       WHERE id = $1 RETURNING ${IOC_COLUMNS}`,
        [
          id,
          u.riskScore,
          u.riskLevel,
          u.categories,
          JSON.stringify(u.sources),
          u.lastEnrichedAt,
          u.nextEnrichAt,
          jsonOrNull(u.verdict !== undefined ? u.verdict : before.verdict),
          jsonOrNull(u.allowlistedBy !== undefined ? u.allowlistedBy : before.allowlistedBy),
          u.staleAt !== undefined ? u.staleAt : before.staleAt,
          // A summary written without a new scoring keeps the score, so its validity too.
          u.scoreValidUntil !== undefined ? u.scoreValidUntil : (before.scoreValidUntil ?? null),
          u.lapsedScore !== undefined ? u.lapsedScore : (before.lapsedScore ?? null),
          u.lapsedLevel !== undefined ? u.lapsedLevel : (before.lapsedLevel ?? null),
        ],
      );
      const after = toIoc(rows[0]!);
      if (after.riskScore !== before.riskScore || after.riskLevel !== before.riskLevel) {
        await client.query(
          `INSERT INTO ioc_score_history (ioc_id, at, score, level, sources)
         VALUES ($1, clock_timestamp(), $2, $3, $4)`,
          [id, after.riskScore, after.riskLevel, u.answered ?? []],
        );
      }
      if (after.lastEnrichedAt && after.lastEnrichedAt.getTime() !== before.lastEnrichedAt?.getTime()) {
        // An enrichment finished: its webhook outbox rows commit with the summary (IOC_ENRICHED).
        const cte = this.outbox.cte('IOC_ENRICHED', {
          from: 'up',
          payload: IOC_PAYLOAD,
          riskLevel: 'up.risk_level',
        });
        if (cte) await client.query(`WITH up AS (SELECT * FROM iocs WHERE id = $1) ${cte} SELECT 1`, [id]);
      }
      if (also) await also(client, before, after);
      return { before, after };
    });
    this.counter.invalidate();
    return result;
  }

  /**
   * Read-modify-write of the IOC's tags and note under a row lock; `also` (an audit row)
   * runs in the same transaction, only when something changed.
   */
  async updateAnnotations(
    id: string,
    compute: (current: StoredIoc) => { tags: string[]; note: string | null },
    also: InTransaction,
  ): Promise<StoredIoc> {
    const result = await inTransaction(this.pool, async (client) => {
      const locked = await client.query<IocRow>(`SELECT ${IOC_COLUMNS} FROM iocs WHERE id = $1 FOR UPDATE`, [
        id,
      ]);
      if (!locked.rows[0]) throw new Error(`IOC ${id} disappeared`);
      const before = toIoc(locked.rows[0]);
      const u = compute(before);
      if (JSON.stringify(u.tags) === JSON.stringify(before.tags ?? []) && u.note === (before.note ?? null))
        return before;
      const { rows } = await client.query<IocRow>(
        `UPDATE iocs SET tags = $2, note = $3 WHERE id = $1 RETURNING ${IOC_COLUMNS}`,
        [id, u.tags, u.note],
      );
      const after = toIoc(rows[0]!);
      await also(client, before, after);
      return after;
    });
    this.counter.invalidate();
    return result;
  }

  /**
   * Claims due IOCs for one collector pass: those watched or looked up or sighted within
   * `recentSeconds`, riskiest (unscored counting as 50), then most recently looked up or
   * sighted, first; returned in that order. SKIP LOCKED lets instances share the queue;
   * the lease (next_enrich_at pushed ahead) keeps a claimed IOC away from others while its
   * pass runs outside this transaction, and brings it back if this instance dies mid-pass.
   * A due IOC nobody asked about lately, and whose lapsing verdict is not what is due, is
   * put to rest instead (next_enrich_at cleared; `stale_at` keeps when it went stale): a
   * lookup, watch or sighting wakes it.
   */
  async claimDue(limit: number, leaseSeconds: number, recentSeconds: number): Promise<StoredIoc[]> {
    await this.pool.query({
      name: 'iocs_rest',
      text: `UPDATE iocs SET next_enrich_at = NULL WHERE id IN (
         SELECT id FROM iocs WHERE next_enrich_at <= now() AND NOT watched
           AND ${RECENCY_SQL} < now() - make_interval(secs => $1)
           AND next_enrich_at IS DISTINCT FROM (verdict->>'expiresAt')::timestamptz
         LIMIT 1000 FOR UPDATE SKIP LOCKED)`,
      values: [recentSeconds],
    });
    const { rows } = await this.pool.query<IocRow>({
      name: 'iocs_claim_due',
      text: `WITH due AS (
         SELECT id FROM iocs WHERE next_enrich_at <= now()
           AND (watched OR ${RECENCY_SQL} >= now() - make_interval(secs => $3)
             OR next_enrich_at = (verdict->>'expiresAt')::timestamptz)
         ORDER BY COALESCE(risk_score, 50) DESC, ${RECENCY_SQL} DESC, id
         LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE iocs SET next_enrich_at = now() + make_interval(secs => $2)
       FROM due WHERE iocs.id = due.id
       RETURNING ${IOC_COLUMNS.split(',')
         .map((c) => `iocs.${c.trim()}`)
         .join(', ')}`,
      values: [limit, leaseSeconds, recentSeconds],
    });
    return rows.map(toIoc).sort(byPriority);
  }

  /** IOCs whose stored score expired (a verdict lapsed), earliest first: the re-scoring worker's. */
  async scoreExpired(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>({
      name: 'iocs_score_expired',
      text: `SELECT id FROM iocs WHERE ${SCORE_LAPSED} ORDER BY score_valid_until LIMIT $1`,
      values: [limit],
    });
    return rows.map((r) => r.id);
  }

  /**
   * A lookup served from the store: the IOC was asked about now, which keeps it among the
   * recently used ones, and wakes it if it was resting.
   */
  async touch(id: string): Promise<void> {
    await this.pool.query({
      name: 'iocs_touch',
      text: `UPDATE iocs SET last_seen_at = now(), next_enrich_at = COALESCE(next_enrich_at, stale_at)
       WHERE id = $1`,
      values: [id],
    });
  }

  /** Stops the collector's keeping these fresh; returns how many were watched. */
  async unwatch(values: readonly string[]): Promise<number> {
    if (values.length === 0) return 0;
    const { rowCount } = await this.pool.query({
      name: 'iocs_unwatch',
      text: 'UPDATE iocs SET watched = false WHERE value = ANY($1::text[]) AND watched',
      values: [[...new Set(values)]],
    });
    this.counter.invalidate();
    return rowCount ?? 0;
  }

  /**
   * Newest first by (firstSeenAt, id), or by `order` (ORDER_KEYS); the count runs only
   * when asked. Without `withSources` the per-source results (the large column) are not
   * read: rows carry `{}`.
   */
  async list(
    filter: IocFilter,
    first: number,
    after: Cursor | undefined,
    withSources = true,
    order: IocOrder = 'FIRST_SEEN',
  ): Promise<Page<StoredIoc & { sortAt: Date }>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.type) add((p) => `type = ${p}::"IocType"`, filter.type);
    // A row whose stored score expired (its verdict lapsed) counts with its lapsed score.
    if (filter.level)
      add(
        (p) =>
          `((risk_level = ${p}::"RiskLevel" AND ${SCORE_VALID}) OR (${SCORE_LAPSED} AND lapsed_level = ${p}::"RiskLevel"))`,
        filter.level,
      );
    if (filter.minScore !== null && filter.minScore !== undefined)
      add(
        (p) => `((risk_score >= ${p} AND ${SCORE_VALID}) OR (${SCORE_LAPSED} AND lapsed_score >= ${p}))`,
        filter.minScore,
      );
    if (filter.valuePrefix) add((p) => `starts_with(value, ${p})`, filter.valuePrefix);
    if (filter.watched !== null && filter.watched !== undefined) add((p) => `watched = ${p}`, filter.watched);
    if (filter.tagsAny?.length) add((p) => `tags && ${p}::text[]`, filter.tagsAny);
    if (filter.tagsAll?.length) add((p) => `tags @> ${p}::text[]`, filter.tagsAll);
    // ILIKE lower-cases both sides as lower() does; the trigram index serves it where
    // pg_trgm exists (migration 20261205122000_ioc_note_trgm).
    if (filter.noteContains)
      add((p) => `note ILIKE ${p} ESCAPE '\\'`, `%${likeEscaped(filter.noteContains)}%`);
    const countWhere = [...where];
    const countParams = [...params];
    const key = ORDER_KEYS[order];
    // Rows whose stored score expired keep their sources: their categories are fused again.
    const columns = withSources
      ? IOC_COLUMNS
      : IOC_COLUMNS.replace(
          'sources',
          `CASE WHEN ${SCORE_LAPSED} THEN sources ELSE '{}'::jsonb END AS sources`,
        );
    const and = (extra: string[]) => {
      const all = [...where, ...extra];
      return all.length > 0 ? `WHERE ${all.join(' AND ')}` : '';
    };
    // Keys at or past the cursor: (key, id) below the cursor's among keyed rows; once the
    // cursor is among the rows without a key (which come last), only those with a lower id.
    // With a lapsed column, rows whose stored key expired are read apart (below).
    const lapsedColumn = key.lapsedColumn;
    const keyed: string[] = lapsedColumn ? [SCORE_VALID] : [];
    const unkeyed: string[] = [`${key.column} IS NULL`, ...keyed];
    const lapsed: string[] = [SCORE_LAPSED];
    if (after) {
      const value = key.cursorValue(after.at);
      params.push(after.id);
      const id = `$${params.length}::uuid`;
      if (value === null) {
        keyed.push('false');
        unkeyed.push(`id < ${id}`);
        lapsed.push(`${lapsedColumn} IS NULL`, `id < ${id}`);
      } else {
        params.push(value);
        keyed.push(`(${key.column}, id) < ($${params.length}, ${id})`);
        lapsed.push(`(${lapsedColumn} IS NULL OR (${lapsedColumn}, id) < ($${params.length}, ${id}))`);
      }
    }
    params.push(first + 1);
    const limit = `$${params.length}`;
    // Each branch is one backward scan of the (key, id) index; the outer sort sees at most
    // twice the page. A key that is never null needs only the first branch. Rows whose
    // stored score expired come from the score_valid_until index, sorted by their lapsed
    // score; the re-scoring worker keeps them few.
    const branch = (extra: string[], sortKey: string) =>
      `(SELECT ${columns}, ${sortKey} AS sort_key FROM iocs ${and(extra)}
        ORDER BY ${key.column} DESC, id DESC LIMIT ${limit})`;
    const lapsedBranch = lapsedColumn
      ? `UNION ALL (SELECT ${columns}, ${lapsedColumn} AS sort_key FROM iocs ${and(lapsed)}
          ORDER BY ${lapsedColumn} IS NULL, ${lapsedColumn} DESC, id DESC LIMIT ${limit})`
      : '';
    const text = key.nullable
      ? `SELECT * FROM (${branch([`${key.column} IS NOT NULL`, ...keyed], key.column)}
           UNION ALL ${branch(unkeyed, `NULL::${key.type}`)} ${lapsedBranch}) u
         ORDER BY sort_key IS NULL, sort_key DESC, id DESC LIMIT ${limit}`
      : branch(keyed, key.column);
    const { rows } = await this.pool.query<IocRow & { sort_key: unknown }>(listStatement(text, params));
    return pageOf(
      rows.map((r) => ({ ...toIoc(r), sortAt: key.toCursor(r.sort_key) })),
      first,
      () => this.counter.count('iocs', countWhere, countParams),
    );
  }

  async history(iocId: string, first: number, after: Cursor | undefined): Promise<Page<EnrichmentRecord>> {
    const params: unknown[] = [iocId];
    let cursor = '';
    if (after) {
      params.push(after.at, after.id);
      cursor = 'AND (fetched_at, id) < ($2, $3::uuid)';
    }
    params.push(first + 1);
    const { rows } = await this.pool.query<EnrichmentRow>(
      `SELECT ${ENRICHMENT_COLUMNS} FROM enrichments WHERE ioc_id = $1 ${cursor}
       ORDER BY fetched_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return pageOf(rows.map(toEnrichment), first, () =>
      this.counter.count('enrichments', ['ioc_id = $1'], [iocId]),
    );
  }

  /** Raw vendor bodies of the given history rows (for `debug` on cached results). */
  async raws(ids: readonly string[]): Promise<Map<string, unknown>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; raw: unknown }>(
      'SELECT id, raw FROM enrichments WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.raw]));
  }
}

/**
 * The newest sighting of an IOC (ioc-sighting-repository.ts): a threat event from the
 * address, a CrowdSec alert or decision on the value; null when there is none. Three
 * index lookups: run once for a new IOC, the triggers keep it after that.
 */
/** The text as a LIKE pattern that matches only itself: backslash, % and _ escaped with a backslash. */
export const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * A row's stored score expired at score_valid_until (a verdict lapsed): until the
 * re-scoring worker stores the new one, lapsed_score / lapsed_level are its score.
 */
const SCORE_LAPSED = 'score_valid_until <= now()';
const SCORE_VALID = '(score_valid_until IS NULL OR score_valid_until > now())';

/** When the IOC was last looked up, watched or sighted. */
const RECENCY_SQL = `GREATEST(last_seen_at, COALESCE(last_sighted_at, '-infinity'))`;

const recency = (i: StoredIoc): number =>
  Math.max(i.lastSeenAt.getTime(), i.lastSightedAt?.getTime() ?? Number.NEGATIVE_INFINITY);

/** The collector's order: riskiest (unscored as 50), then most recently used, then id. */
export const byPriority = (a: StoredIoc, b: StoredIoc): number =>
  (b.riskScore ?? 50) - (a.riskScore ?? 50) || recency(b) - recency(a) || (a.id < b.id ? -1 : 1);

const LAST_SIGHTED_SQL = `GREATEST(
  (SELECT max(e.occurred_at) FROM threat_events e
    WHERE iocs.type IN ('IPV4', 'IPV6') AND e.source_ip = (CASE WHEN iocs.type IN ('IPV4', 'IPV6') THEN iocs.value::inet END)),
  (SELECT max(a.start_at) FROM crowdsec_alerts a WHERE a.source_value = iocs.value OR a.source_ip = iocs.value),
  (SELECT max(d.created_at) FROM crowdsec_decisions d WHERE d.value = iocs.value))`;

/** A time key's cursor; a missing time is carried as the epoch. */
const timeKey = (column: string): OrderKey => ({
  column,
  nullable: true,
  type: 'timestamptz',
  cursorValue: (at) => (at.getTime() === 0 ? null : at),
  toCursor: (key) => (key === null ? new Date(0) : (key as Date)),
});

interface OrderKey {
  /** An iocs column with a (column, id) index. */
  column: string;
  /** The key of rows whose stored score expired (SCORE_LAPSED); the key must be nullable. */
  lapsedColumn?: string;
  /** Rows without a key sort after all others. */
  nullable: boolean;
  type: string;
  /** The cursor's key as an SQL parameter; null: the cursor is among the rows without one. */
  cursorValue: (at: Date) => unknown;
  toCursor: (key: unknown) => Date;
}

/**
 * Sort keys of the iocs list, highest first, each a column indexed with the id so every
 * order is an index scan whatever the store's size. A cursor carries the key as its
 * time: a score s as the instant s ms after the epoch (-1 for unscored, which sort last),
 * a missing enrichment or sighting time as the epoch. last_sighted_at is kept by database
 * triggers on the threat event and CrowdSec tables (migration 20261203110000_ioc_last_sighted).
 */
export const ORDER_KEYS: Readonly<Record<IocOrder, OrderKey>> = {
  FIRST_SEEN: {
    column: 'first_seen_at',
    nullable: false,
    type: 'timestamptz',
    cursorValue: (at) => at,
    toCursor: (key) => key as Date,
  },
  SCORE: {
    column: 'risk_score',
    lapsedColumn: 'lapsed_score',
    nullable: true,
    type: 'smallint',
    cursorValue: (at) => (at.getTime() < 0 ? null : at.getTime()),
    toCursor: (key) => new Date(key === null ? -1 : Number(key)),
  },
  LAST_ENRICHED: timeKey('last_enriched_at'),
  LAST_SIGHTING: timeKey('last_sighted_at'),
};

const ENRICHMENT_COLUMNS = `id, ioc_id, source, status, score, categories, data, error, error_kind,
  duration_ms, fetched_at`;

interface EnrichmentRow {
  id: string;
  ioc_id: string;
  source: EnrichmentRecord['source'];
  status: EnrichmentRecord['status'];
  score: number | null;
  categories: EnrichmentRecord['categories'] | null;
  data: Record<string, unknown>;
  error: string | null;
  error_kind: string | null;
  duration_ms: number;
  fetched_at: Date;
}

const toEnrichment = (r: EnrichmentRow): EnrichmentRecord => ({
  id: r.id,
  iocId: r.ioc_id,
  source: r.source,
  status: r.status,
  score: r.score,
  categories: r.categories ?? [],
  data: r.data,
  error: r.error,
  errorKind: r.error_kind,
  durationMs: r.duration_ms,
  fetchedAt: r.fetched_at,
});
