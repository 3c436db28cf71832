/**
 * Storage of CrowdSec decisions. Written in SQL on the shared pool: snapshots of
 * 100,000 decisions go in as `INSERT … SELECT FROM unnest(…)` batches (the
 * Prisma query compiler is too slow for bulk rows), and the list query needs keyset
 * pagination plus computed `active`, which one mapper over one row shape keeps simple.
 */
import type pg from 'pg';
import { fromColumns, type GeoColumns } from './crowdsec-geo.js';
import { NO_OUTBOX, type Outbox, type OutboxEvent } from '../platform/outbox.js';
import { listStatement, pageOf, RowCounter, type Cursor } from '../platform/page.js';
import type { DecisionFilter, DecisionPage, DecisionRecord } from './crowdsec-types.js';

/** A decision as the poller hands it over: the record's LAPI fields, with GeoIP columns. */
export interface DecisionInput extends Omit<
  DecisionRecord,
  'id' | 'lapiUrl' | 'createdAt' | 'deletedAt' | 'geo' | 'addedPosition' | 'deletedPosition'
> {
  geo: GeoColumns;
}

interface DecisionRow extends GeoColumns {
  id: string;
  lapi_url: string;
  crowdsec_id: string;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  expires_at: Date;
  created_at: Date;
  deleted_at: Date | null;
  added_position: string;
  deleted_position: string | null;
  inserted?: boolean;
}

const COLUMNS = `id, lapi_url, crowdsec_id, origin, type, scope, value, scenario, simulated, expires_at,
  created_at, deleted_at, country_code, city, latitude, longitude, geo_approximate, asn, as_org,
  added_position::text AS added_position, deleted_position::text AS deleted_position`;

/** Deleted-at for a decision that disappears: now, or its expiry if that came first. */
const GONE_AT = 'LEAST(now(), expires_at)';

/** A decision as a webhook sees it (DECISION_ADDED, DECISION_DELETED). */
const DECISION_PAYLOAD = `jsonb_build_object('id', up.id::text, 'crowdsecId', up.crowdsec_id, 'origin', up.origin,
  'type', up.type, 'scope', up.scope, 'value', up.value, 'scenario', up.scenario, 'simulated', up.simulated,
  'expiresAt', up.expires_at, 'createdAt', up.created_at, 'deletedAt', up.deleted_at,
  'countryCode', up.country_code, 'city', up.city, 'asn', up.asn, 'asOrg', up.as_org)`;

export function toDecision(row: DecisionRow): DecisionRecord {
  return {
    id: String(row.id),
    lapiUrl: row.lapi_url,
    crowdsecId: Number(row.crowdsec_id),
    origin: row.origin,
    type: row.type,
    scope: row.scope,
    value: row.value,
    scenario: row.scenario,
    simulated: row.simulated,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    deletedAt: row.deleted_at,
    geo: fromColumns(row),
    addedPosition: row.added_position,
    deletedPosition: row.deleted_position,
  };
}

export class DecisionRepository {
  private readonly counter: RowCounter;

  constructor(
    private readonly pool: pg.Pool,
    private readonly outbox: Outbox = NO_OUTBOX,
  ) {
    this.counter = new RowCounter(pool);
  }

  /**
   * `statement` (an INSERT or UPDATE … RETURNING) with the webhook outbox rows of its
   * rows in the same statement, when an active webhook wants `event`.
   */
  private withOutbox(event: OutboxEvent, statement: string, where?: string): string {
    const cte = this.outbox.cte(event, {
      from: 'up',
      payload: DECISION_PAYLOAD,
      ...(where ? { where } : {}),
    });
    return cte ? `WITH up AS (${statement}) ${cte} SELECT * FROM up` : statement;
  }

  /** Database time: the reconciliation mark must use the same clock as `seen_at`. */
  async now(): Promise<Date> {
    const { rows } = await this.pool.query<{ now: Date }>('SELECT now() AS now');
    return rows[0]!.now;
  }

  /**
   * Upserts one batch in one statement (one transaction) and returns the rows that
   * were new to us. Known rows get their expiry refreshed and are marked seen; a
   * deletion we already recorded is kept.
   */
  async upsertBatch(lapiUrl: string, batch: readonly DecisionInput[]): Promise<DecisionRecord[]> {
    if (batch.length === 0) return [];
    const col = <T>(fn: (d: DecisionInput) => T) => batch.map(fn);
    const { rows } = await this.pool.query<DecisionRow>(
      this.withOutbox(
        'DECISION_ADDED',
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, simulated,
         expires_at, country_code, city, latitude, longitude, geo_approximate, asn, as_org)
       SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::boolean[], $9::timestamptz[], $10::text[], $11::text[], $12::float8[], $13::float8[],
         $14::boolean[], $15::int[], $16::text[])
       ON CONFLICT (lapi_url, crowdsec_id) DO UPDATE
         SET expires_at = EXCLUDED.expires_at, seen_at = now()
       RETURNING ${COLUMNS}, (xmax = 0) AS inserted`,
        'up.inserted',
      ),
      [
        lapiUrl,
        col((d) => d.crowdsecId),
        col((d) => d.origin),
        col((d) => d.type),
        col((d) => d.scope),
        col((d) => d.value),
        col((d) => d.scenario),
        col((d) => d.simulated),
        col((d) => d.expiresAt),
        col((d) => d.geo.country_code),
        col((d) => d.geo.city),
        col((d) => d.geo.latitude),
        col((d) => d.geo.longitude),
        col((d) => d.geo.geo_approximate),
        col((d) => d.geo.asn),
        col((d) => d.geo.as_org),
      ],
    );
    this.counter.invalidate();
    return rows.filter((r) => r.inserted).map(toDecision);
  }

  /** Marks the given LAPI ids deleted; returns only the rows this call changed. */
  async markDeleted(lapiUrl: string, crowdsecIds: readonly number[]): Promise<DecisionRecord[]> {
    if (crowdsecIds.length === 0) return [];
    const { rows } = await this.pool.query<DecisionRow>(
      this.withOutbox(
        'DECISION_DELETED',
        `UPDATE crowdsec_decisions SET deleted_at = ${GONE_AT}, seen_at = now()
       WHERE lapi_url = $1 AND crowdsec_id = ANY($2::bigint[]) AND deleted_at IS NULL
       RETURNING ${COLUMNS}`,
      ),
      [lapiUrl, crowdsecIds],
    );
    if (rows.length > 0) this.counter.invalidate();
    return rows.map(toDecision);
  }

  /**
   * After a full snapshot: what the snapshot did not mention is gone. Works in
   * chunks so that a large reconciliation stays in bounded memory; `onChunk` sees
   * each chunk after its commit.
   */
  async reconcile(
    lapiUrl: string,
    snapshotStartedAt: Date,
    onChunk: (gone: DecisionRecord[]) => Promise<void>,
    chunk = 1000,
  ): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows } = await this.pool.query<DecisionRow>(
        this.withOutbox(
          'DECISION_DELETED',
          `UPDATE crowdsec_decisions SET deleted_at = ${GONE_AT}
         WHERE id IN (SELECT id FROM crowdsec_decisions
                      WHERE lapi_url = $1 AND deleted_at IS NULL AND seen_at < $2 LIMIT $3)
         RETURNING ${COLUMNS}`,
        ),
        [lapiUrl, snapshotStartedAt, chunk],
      );
      total += rows.length;
      if (rows.length > 0) this.counter.invalidate();
      if (rows.length > 0) await onChunk(rows.map(toDecision));
      if (rows.length < chunk) return total;
    }
  }

  /**
   * Decisions whose position in the `kind` stream is above `after`, in that order, at
   * most `limit` (the replay of decisionAdded / decisionDeleted).
   */
  async readAfterPosition(
    kind: 'added' | 'deleted',
    after: bigint,
    limit: number,
  ): Promise<DecisionRecord[]> {
    const column = kind === 'added' ? 'added_position' : 'deleted_position';
    const { rows } = await this.pool.query<DecisionRow>(
      // Qualified: the bare name would sort by the text column of the same name in COLUMNS.
      `SELECT ${COLUMNS} FROM crowdsec_decisions d WHERE d.${column} > $1 ORDER BY d.${column} LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.map(toDecision);
  }

  /** The highest committed position of the `kind` stream (0 when none). */
  async headPosition(kind: 'added' | 'deleted'): Promise<bigint> {
    const column = kind === 'added' ? 'added_position' : 'deleted_position';
    const { rows } = await this.pool.query<{ head: string | null }>(
      `SELECT max(${column})::text AS head FROM crowdsec_decisions`,
    );
    return BigInt(rows[0]?.head ?? '0');
  }

  /**
   * When the first decision after `after` in the `kind` stream was stored (added) or
   * deleted; null when there is none.
   */
  async firstWrittenAfter(kind: 'added' | 'deleted', after: bigint): Promise<Date | null> {
    const [column, at] =
      kind === 'added' ? ['added_position', 'created_at'] : ['deleted_position', 'deleted_at'];
    const { rows } = await this.pool.query<{ at: Date }>(
      `SELECT ${at} AS at FROM crowdsec_decisions WHERE ${column} > $1 ORDER BY ${column} LIMIT 1`,
      [after.toString()],
    );
    return rows[0]?.at ?? null;
  }

  async get(id: string): Promise<DecisionRecord | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<DecisionRow>(
      `SELECT ${COLUMNS} FROM crowdsec_decisions WHERE id = $1`,
      [id],
    );
    return rows[0] && toDecision(rows[0]);
  }

  async byCrowdsecIds(lapiUrl: string, ids: readonly number[]): Promise<DecisionRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<DecisionRow>(
      `SELECT ${COLUMNS} FROM crowdsec_decisions WHERE lapi_url = $1 AND crowdsec_id = ANY($2::bigint[])
       ORDER BY crowdsec_id`,
      [lapiUrl, ids],
    );
    return rows.map(toDecision);
  }

  /**
   * The decisions of many alerts in one query: for each (lapiUrl, crowdsec ids) key, its
   * decisions ordered by crowdsec id, in key order.
   */
  async byAlertKeys(
    keys: readonly { lapiUrl: string; ids: readonly number[] }[],
  ): Promise<DecisionRecord[][]> {
    const lapis: string[] = [];
    const ids: number[] = [];
    for (const k of keys) {
      for (const id of k.ids) {
        lapis.push(k.lapiUrl);
        ids.push(id);
      }
    }
    if (ids.length === 0) return keys.map(() => []);
    const { rows } = await this.pool.query<DecisionRow>({
      name: 'decisions_by_alert_keys',
      text: `SELECT ${COLUMNS} FROM crowdsec_decisions
       WHERE (lapi_url, crowdsec_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))
       ORDER BY crowdsec_id`,
      values: [lapis, ids],
    });
    const byKey = new Map<string, DecisionRecord[]>();
    for (const r of rows) {
      const d = toDecision(r);
      const k = `${r.lapi_url}\u0000${d.crowdsecId}`;
      byKey.set(k, [...(byKey.get(k) ?? []), d]);
    }
    return keys.map((k) =>
      [...new Set(k.ids)]
        .flatMap((id) => byKey.get(`${k.lapiUrl}\u0000${id}`) ?? [])
        .sort((a, b) => a.crowdsecId - b.crowdsecId),
    );
  }

  /**
   * Active decisions on each value, newest first, at most `limit` per value, in one query
   * (a lateral scan of the value index per value); in input order.
   */
  async activeByValues(values: readonly string[], limit: number): Promise<DecisionRecord[][]> {
    if (values.length === 0) return [];
    const { rows } = await this.pool.query<DecisionRow & { wanted: string }>({
      name: 'decisions_active_by_values',
      text: `SELECT v.wanted, d.* FROM unnest($1::text[]) AS v(wanted)
       CROSS JOIN LATERAL (
         SELECT ${COLUMNS} FROM crowdsec_decisions
         WHERE value = v.wanted AND deleted_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id DESC LIMIT $2) d`,
      values: [[...new Set(values)], limit],
    });
    const byValue = new Map<string, DecisionRecord[]>();
    for (const r of rows) byValue.set(r.wanted, [...(byValue.get(r.wanted) ?? []), toDecision(r)]);
    return values.map((v) => byValue.get(v) ?? []);
  }

  /** Newest first by (createdAt, id); the count runs only when asked. */
  async list(filter: DecisionFilter, first: number, after: Cursor | undefined): Promise<DecisionPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.activeOnly) where.push('deleted_at IS NULL AND expires_at > now()');
    if (filter.scope) where.push(`lower(scope) = lower(${p(filter.scope)})`);
    if (filter.type) where.push(`lower(type) = lower(${p(filter.type)})`);
    if (filter.origin) where.push(`lower(origin) = lower(${p(filter.origin)})`);
    if (filter.scenario) where.push(`scenario = ${p(filter.scenario)}`);
    if (filter.value) where.push(`value = ${p(filter.value)}`);
    if (filter.countryCode) where.push(`country_code = ${p(filter.countryCode.toUpperCase())}`);
    const countWhere = [...where];
    const countParams = [...params];
    if (after) where.push(`(created_at, id) < (${p(after.at)}, ${p(after.id)}::bigint)`);
    const page = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await this.pool.query<DecisionRow>(
      listStatement(
        `SELECT ${COLUMNS} FROM crowdsec_decisions ${page} ORDER BY created_at DESC, id DESC LIMIT ${p(first + 1)}`,
        params,
      ),
    );
    return pageOf(rows.map(toDecision), first, () =>
      this.counter.count('crowdsec_decisions', countWhere, countParams),
    );
  }
}
