/**
 * Reads for feeds: a read-only REPEATABLE READ transaction per request, so a feed's
 * validator (its ETag) and its rows come from one snapshot, and a server-side cursor
 * (pg-cursor) that hands rows over a batch at a time, so a feed of a million rows holds
 * one batch in memory. Reads the CrowdSec decisions and alerts, threat events and IOCs,
 * which their modules write.
 */
import type pg from 'pg';
import Cursor from 'pg-cursor';
import type { BlocklistQuery, FeedIocRow, IocFeedQuery } from './feed-types.js';

/** Rows fetched per round trip. */
export const FEED_BATCH_ROWS = 1_000;
/**
 * A client that stops reading holds a connection in an open transaction; PostgreSQL
 * ends the session after this long idle, which ends the feed.
 */
const IDLE_IN_TRANSACTION_MS = 60_000;

export interface SqlQuery {
  text: string;
  values: unknown[];
}

/** Active (not deleted, not expired, not simulated) decisions on an address or range. */
function decisionValues(q: BlocklistQuery, values: unknown[]): string {
  values.push(q.decisionType);
  return `SELECT DISTINCT d.value FROM crowdsec_decisions d
    WHERE d.deleted_at IS NULL AND d.expires_at > now() AND NOT d.simulated
      AND lower(d.scope) IN ('ip', 'range') AND lower(d.type) = $${values.length}`;
}

/**
 * An IOC's score and level as the IOC lists show them: the stored ones, except from the
 * instant a verdict lapsed (`score_valid_until`) until the re-scoring worker stores the
 * new score, when the row's `lapsed_score`/`lapsed_level` are its score. Feeds follow
 * the same rule, so a firewall stops blocking an address the moment its verdict lapses,
 * even on a deployment where no instance runs workers.
 */
const IOC_SCORE = `CASE WHEN i.score_valid_until <= now() THEN i.lapsed_score ELSE i.risk_score END`;
const IOC_LEVEL = `CASE WHEN i.score_valid_until <= now() THEN i.lapsed_level ELSE i.risk_level END`;

/** IOC_SCORE >= the parameter, written so the risk_score and score_valid_until indexes serve it. */
const iocScoreAtLeast = (param: string) =>
  `((i.risk_score >= ${param} AND (i.score_valid_until IS NULL OR i.score_valid_until > now()))
     OR (i.score_valid_until <= now() AND i.lapsed_score >= ${param}))`;

function iocValues(minScore: number, values: unknown[]): string {
  values.push(minScore);
  return `SELECT i.value FROM iocs i
    WHERE i.type IN ('IPV4', 'IPV6') AND ${iocScoreAtLeast(`$${values.length}`)}`;
}

/** Distinct addresses and ranges, IPv4 before IPv6, each in byte order (collation "C"). */
export function blocklistSql(q: BlocklistQuery): SqlQuery {
  const values: unknown[] = [];
  const parts: string[] = [];
  if (q.source !== 'iocs') parts.push(decisionValues(q, values));
  if (q.source !== 'decisions') parts.push(iocValues(q.minScore, values));
  const family = q.family === undefined ? '' : `WHERE (strpos(b.value, ':') > 0) = ${q.family === 6}`;
  return {
    text: `SELECT b.value FROM (${parts.join(' UNION ')}) b ${family}
      ORDER BY strpos(b.value, ':') > 0, b.value COLLATE "C"`,
    values,
  };
}

/**
 * IOCs at or above a score, newest first (the first-seen index: no sort, and a heap read
 * mostly in the order rows were written), with their OK sources and the verdict in force.
 */
export function iocFeedSql(q: IocFeedQuery, withSightings: boolean): SqlQuery {
  const values: unknown[] = [q.minScore];
  const types = q.types.length > 0 ? `AND i.type::text = ANY($${values.push(q.types)}::text[])` : '';
  const sightings = withSightings
    ? `, s.n AS sighting_count, s.first_at AS sighting_first, s.last_at AS sighting_last`
    : '';
  const lateral = withSightings
    ? `CROSS JOIN LATERAL (
        SELECT count(*)::int AS n, min(x.at) AS first_at, max(x.at) AS last_at FROM (
          SELECT t.occurred_at AS at FROM threat_events t
            WHERE t.source_ip = CASE WHEN i.type IN ('IPV4', 'IPV6') THEN i.value::inet END
          UNION ALL
          SELECT a.start_at FROM crowdsec_alerts a WHERE a.source_value = i.value
          UNION ALL
          SELECT a.start_at FROM crowdsec_alerts a WHERE a.source_ip = i.value AND a.source_value <> i.value
        ) x) s`
    : '';
  return {
    text: `SELECT i.id, i.type::text AS type, i.value, ${IOC_SCORE} AS risk_score, (${IOC_LEVEL})::text AS risk_level,
        i.categories, i.first_seen_at, i.last_enriched_at,
        jsonb_path_query_array(i.sources, '$.keyvalue() ? (@.value.status == "OK").key') AS sources,
        CASE WHEN i.verdict->>'expiresAt' IS NULL OR (i.verdict->>'expiresAt')::timestamptz > now()
          THEN i.verdict->>'verdict' END AS verdict
        ${sightings}
      FROM iocs i ${lateral}
      WHERE ${iocScoreAtLeast('$1')} ${types}
      ORDER BY i.first_seen_at DESC, i.id DESC`,
    values,
  };
}

interface IocSqlRow {
  id: string;
  type: FeedIocRow['type'];
  value: string;
  risk_score: number | null;
  risk_level: string | null;
  categories: string[] | null;
  first_seen_at: Date;
  last_enriched_at: Date | null;
  sources: string[];
  verdict: string | null;
  sighting_count?: number;
  sighting_first?: Date | null;
  sighting_last?: Date | null;
}

export function toIocRow(r: IocSqlRow): FeedIocRow {
  return {
    id: r.id,
    type: r.type,
    value: r.value,
    riskScore: r.risk_score,
    riskLevel: r.risk_level,
    categories: r.categories ?? [],
    firstSeenAt: r.first_seen_at,
    lastEnrichedAt: r.last_enriched_at,
    sources: [...r.sources].sort(),
    verdict: r.verdict,
    ...(r.sighting_count === undefined
      ? {}
      : {
          sightings: {
            count: r.sighting_count,
            firstAt: r.sighting_first ?? null,
            lastAt: r.sighting_last ?? null,
          },
        }),
  };
}

/**
 * What a feed's body depends on besides its parameters: the tables it reads (as the
 * columns it shows) and the instants its rows leave it by time alone.
 */
export type FeedInput =
  'iocs' | 'iocs_blocklist' | 'decisions' | 'threat_events' | 'alerts' | 'decision_expiry' | 'verdict_expiry';

const INPUT_SQL: Record<FeedInput, string> = {
  // Counters of committed changes (migration 20261205110000_feed_versions): 16 rows.
  iocs: 'sum(v.iocs)::text',
  iocs_blocklist: 'sum(v.iocs_blocklist)::text',
  decisions: 'sum(v.decisions)::text',
  threat_events: 'sum(v.threat_events)::text',
  alerts: 'sum(v.alerts)::text',
  // The next expiry after now() among rows that can be in the feed: one index probe each.
  decision_expiry: `(SELECT extract(epoch FROM min(d.expires_at))::text FROM crowdsec_decisions d
      WHERE d.deleted_at IS NULL AND d.simulated = false AND d.expires_at > now())`,
  verdict_expiry: `(SELECT extract(epoch FROM min(e.expires_at))::text FROM feed_verdict_expiries e
      WHERE e.expires_at > now())`,
};

/**
 * The one statement that validates a feed: what the feed's body depends on, as text.
 * Within one snapshot the body is a function of the committed writes to its tables
 * (each counted by a counter that only grows) and of now(); between two snapshots with
 * equal counters a row can only have left the feed by expiring, which moves the next
 * expiry past it. So equal validators mean equal bodies, and the statement reads the 16
 * counter rows and at most one index entry per expiry.
 */
export function validatorSql(inputs: readonly FeedInput[]): string {
  const parts = inputs.map((i) => `COALESCE(${INPUT_SQL[i]}, '-')`);
  return `SELECT concat_ws('|', ${parts.join(', ')}) AS v FROM feed_versions v`;
}

/** One request's consistent view of the tables: validator, then rows. Close it once. */
export class FeedSnapshot {
  private closed = false;

  constructor(private readonly client: pg.PoolClient) {}

  /** The feed's validator in this snapshot (see `validatorSql`): equal text, equal body. */
  async validator(inputs: readonly FeedInput[]): Promise<string> {
    const { rows } = await this.client.query<{ v: string }>(validatorSql(inputs));
    return rows[0]!.v;
  }

  /** How many rows `q` returns (the ipset header sizes its set with it). */
  async count(q: SqlQuery): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (${q.text}) q`,
      q.values,
    );
    return Number(rows[0]!.n);
  }

  /** The rows of `q` a batch at a time; stopping early (return) closes the cursor. */
  async *batches<T>(q: SqlQuery, batchRows = FEED_BATCH_ROWS): AsyncGenerator<T[]> {
    const cursor = this.client.query(new Cursor<T>(q.text, q.values));
    try {
      for (;;) {
        const rows = await cursor.read(batchRows);
        if (rows.length === 0) return;
        yield rows;
        if (rows.length < batchRows) return;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  /** Ends the transaction and returns the connection (destroyed if it failed). */
  async close(err?: unknown): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch (e) {
      this.client.release(e instanceof Error ? e : new Error(String(err ?? e)));
    }
  }
}

export class FeedRepository {
  constructor(private readonly pool: pg.Pool) {}

  async openSnapshot(): Promise<FeedSnapshot> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS}`);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    return new FeedSnapshot(client);
  }
}
