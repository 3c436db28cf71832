import type pg from 'pg';
import { parseIp } from '../geo/ip-address.js';
import type { ClassifierInput, LabelledEvent, ThreatCategory } from './classifier/index.js';
import { insertParams } from './threat-insert-params.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import { listStatement, RowCounter, SharedReads, type Cursor, type RowCount } from '../platform/page.js';
import {
  CLASSIFIER_COLUMNS,
  SELECT_EVENT,
  selectEvents,
  toListRecord,
  toRecord,
  whereOf,
} from './threat-sql.js';
import type { ThreatEventField, ThreatEventFilter, ThreatEventRecord } from './threat-types.js';

/** Flags set from other domains' stored data in the same statement (no extra round trip). */
export interface StoredFlags {
  knownIoc: boolean;
  banned: boolean;
  /** The stream position the INSERT gave the event (decimal text). */
  streamPosition: string;
}

/**
 * An IOC counts as "known" from this fused risk score on (RiskLevel HIGH and CRITICAL),
 * the score as the IOC lists show it: from the instant an analyst's verdict lapses, the
 * score without it (the row's lapsed_score), before the re-scoring worker stores it.
 */
export const KNOWN_IOC_MIN_SCORE = 50;

/** All threat-event I/O. Bulk writes are raw SQL on the shared pool: Prisma is too slow for bulk rows. */
export interface ThreatEventRepository {
  /**
   * Stores events in one statement. Returns the ids actually inserted (duplicate
   * externalIds are skipped) with the flags computed for them at insert time.
   */
  insertMany(events: readonly ThreatEventRecord[]): Promise<Map<string, StoredFlags>>;
  findById(id: string): Promise<ThreatEventRecord | null>;
  findByExternalIds(externalIds: readonly string[]): Promise<ThreatEventRecord[]>;
  /**
   * Newest first by (occurredAt, id), strictly after the cursor. With `fields`, rows
   * carry only those fields (and id, occurredAt); the others are undefined. Identical
   * lists asked while one is read share its rows (SharedReads): callers must not change them.
   */
  list(
    filter: ThreatEventFilter,
    take: number,
    after?: Cursor,
    fields?: ReadonlySet<ThreatEventField>,
  ): Promise<ThreatEventRecord[]>;
  /** Matching events, counted up to COUNT_LIMIT, cached briefly per filter. */
  count(filter: ThreatEventFilter): Promise<RowCount>;
  /** False when the event does not exist. */
  setLabel(id: string, category: ThreatCategory, labelledBy: string | null): Promise<boolean>;
  /** Newest labels first. */
  labelled(limit: number): Promise<LabelledEvent[]>;
  countLabelsSince(since: Date | null): Promise<number>;
  /** The most recent events' classifier inputs, for refitting the anomaly model. */
  recent(limit: number): Promise<ClassifierInput[]>;
  /** Deletes up to `batch` events older than `cutoff`; returns how many. */
  deleteOlderThan(cutoff: Date, batch: number): Promise<number>;
  /** Events with a stream position above `after`, in position order, at most `limit`. */
  readAfterPosition(after: bigint, limit: number): Promise<ThreatEventRecord[]>;
  /** The highest stream position committed (0 when none). */
  headPosition(): Promise<bigint>;
  /** When the first event after stream position `after` was ingested; null when none. */
  firstIngestedAfter(after: bigint): Promise<Date | null>;
}

const INSERT = `
  INSERT INTO threat_events (
    id, external_id, source_ip, destination_ip, source_port, destination_port, protocol, threat_type,
    severity, confidence, description, sensor, tags, occurred_at, ingested_at, country_code, city,
    latitude, longitude, geo_approximate, asn, as_org, known_ioc, banned, category, category_confidence,
    anomaly_score, is_anomaly, classification_method, model_version, raw)
  SELECT id, external_id, source_ip, destination_ip, source_port, destination_port, protocol, threat_type,
         severity, confidence, description, sensor, tags::text[], occurred_at, $15::timestamptz, country_code,
         city, latitude, longitude, geo_approximate, asn, as_org,
         EXISTS (SELECT 1 FROM iocs i WHERE i.value = host(t.source_ip)
                   AND CASE WHEN i.score_valid_until <= now() THEN i.lapsed_score ELSE i.risk_score END
                       >= ${KNOWN_IOC_MIN_SCORE}),
         EXISTS (SELECT 1 FROM crowdsec_decisions d WHERE d.value = host(t.source_ip) AND d.type = 'ban'
                   AND d.deleted_at IS NULL AND d.expires_at > now()),
         category,
         category_confidence, anomaly_score, is_anomaly, classification_method, model_version, raw::jsonb
    FROM unnest($1::uuid[], $2::text[], $3::inet[], $4::inet[], $5::int4[], $6::int4[], $7::text[], $8::text[],
                $9::int2[], $10::float8[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
                $16::bpchar[], $17::text[], $18::float8[], $19::float8[], $20::bool[], $21::int4[], $22::text[],
                $23::"ThreatCategory"[], $24::float8[], $25::float8[], $26::bool[],
                $27::"ClassificationMethod"[], $28::text[], $29::text[])
      AS t(id, external_id, source_ip, destination_ip, source_port, destination_port, protocol, threat_type,
           severity, confidence, description, sensor, tags, occurred_at, country_code, city, latitude,
           longitude, geo_approximate, asn, as_org, category, category_confidence,
           anomaly_score, is_anomaly, classification_method, model_version, raw)
  ON CONFLICT (external_id) DO NOTHING
  RETURNING id, known_ioc AS "knownIoc", banned, stream_position::text AS "streamPosition"`;

/** The stored event as a webhook sees it (THREAT_DETECTED). */
const WEBHOOK_PAYLOAD = `jsonb_build_object('id', ins.id, 'externalId', ins.external_id, 'occurredAt', ins.occurred_at,
  'sourceIp', host(ins.source_ip), 'destinationIp', host(ins.destination_ip), 'sourcePort', ins.source_port,
  'destinationPort', ins.destination_port, 'protocol', ins.protocol, 'threatType', ins.threat_type,
  'severity', ins.severity, 'confidence', ins.confidence, 'description', ins.description, 'sensor', ins.sensor,
  'tags', ins.tags, 'countryCode', ins.country_code, 'city', ins.city, 'asn', ins.asn, 'asOrg', ins.as_org,
  'category', ins.category, 'categoryConfidence', ins.category_confidence, 'anomalyScore', ins.anomaly_score,
  'isAnomaly', ins.is_anomaly, 'knownIoc', ins.known_ioc, 'banned', ins.banned)`;

/**
 * The INSERT, with the webhook outbox rows of the stored events in the same statement
 * when an active webhook wants THREAT_DETECTED (src/platform/outbox.ts): the INSERT
 * becomes a CTE returning whole rows, and the outer SELECT returns what it returned.
 */
function insertStatement(outbox: Outbox): { name: string; text: string } {
  const cte = outbox.cte('THREAT_DETECTED', {
    from: 'ins',
    payload: WEBHOOK_PAYLOAD,
    severity: 'ins.severity',
    category: 'ins.category',
    country: 'ins.country_code',
  });
  if (cte === '') return { name: 'threat_events_insert', text: INSERT };
  const [insert, returning] = INSERT.split(/\n\s*RETURNING /);
  return {
    name: 'threat_events_insert_outbox',
    text: `WITH ins AS (${insert} RETURNING *) ${cte} SELECT ${returning} FROM ins`,
  };
}

export class PgThreatEventRepository implements ThreatEventRepository {
  private readonly counter: RowCounter;
  private readonly reads = new SharedReads();

  constructor(
    private readonly pool: pg.Pool,
    private readonly outbox: Outbox = NO_OUTBOX,
  ) {
    this.counter = new RowCounter(pool);
  }

  async insertMany(events: readonly ThreatEventRecord[]): Promise<Map<string, StoredFlags>> {
    if (events.length === 0) return new Map();
    const params = insertParams(events);
    // Named: each pooled connection parses and plans the statement once, not per call.
    const { rows } = await this.pool.query<{ id: string } & StoredFlags>({
      ...insertStatement(this.outbox),
      values: params,
    });
    if (rows.length > 0) this.changed();
    return new Map(
      rows.map((r) => [r.id, { knownIoc: r.knownIoc, banned: r.banned, streamPosition: r.streamPosition }]),
    );
  }

  async readAfterPosition(after: bigint, limit: number): Promise<ThreatEventRecord[]> {
    const { rows } = await this.pool.query<ThreatEventRecord>({
      name: 'threat_events_after_position',
      text: `${SELECT_EVENT} WHERE e.stream_position > $1 ORDER BY e.stream_position LIMIT $2`,
      values: [after.toString(), limit],
    });
    return rows.map(toRecord);
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>(
      'SELECT max(stream_position)::text AS head FROM threat_events',
    );
    return BigInt(rows[0]?.head ?? '0');
  }

  async firstIngestedAfter(after: bigint): Promise<Date | null> {
    const { rows } = await this.pool.query<{ at: Date }>(
      `SELECT ingested_at AS at FROM threat_events WHERE stream_position > $1 ORDER BY stream_position LIMIT 1`,
      [after.toString()],
    );
    return rows[0]?.at ?? null;
  }

  async findById(id: string): Promise<ThreatEventRecord | null> {
    const { rows } = await this.pool.query<ThreatEventRecord>(`${SELECT_EVENT} WHERE e.id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findByExternalIds(externalIds: readonly string[]): Promise<ThreatEventRecord[]> {
    if (externalIds.length === 0) return [];
    const { rows } = await this.pool.query<ThreatEventRecord>(
      `${SELECT_EVENT} WHERE e.external_id = ANY($1::text[])`,
      [externalIds],
    );
    return rows.map(toRecord);
  }

  async list(
    filter: ThreatEventFilter,
    take: number,
    after?: Cursor,
    fields?: ReadonlySet<ThreatEventField>,
  ): Promise<ThreatEventRecord[]> {
    const params: unknown[] = [];
    const where = whereOf(filter, params);
    if (after) {
      params.push(after.at, after.id);
      where.push(`(e.occurred_at, e.id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(take);
    const text = `${selectEvents(fields)} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY e.occurred_at DESC, e.id DESC LIMIT $${params.length}`;
    const statement = listStatement(text, params);
    // Clients polling the same page (a dashboard's newest events) share one query.
    return this.reads.read(statement, async () => {
      const { rows } = await this.pool.query<ThreatEventRecord>(statement);
      return rows.map(toListRecord);
    });
  }

  count(filter: ThreatEventFilter): Promise<RowCount> {
    const params: unknown[] = [];
    return this.counter.count('threat_events e', whereOf(filter, params), params);
  }

  async setLabel(id: string, category: ThreatCategory, labelledBy: string | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO threat_labels (event_id, category, labelled_at, labelled_by)
       SELECT id, $2::"ThreatCategory", now(), $3::uuid FROM threat_events WHERE id = $1
       ON CONFLICT (event_id) DO UPDATE
         SET category = EXCLUDED.category, labelled_at = EXCLUDED.labelled_at, labelled_by = EXCLUDED.labelled_by`,
      [id, category, labelledBy],
    );
    if ((rowCount ?? 0) > 0) this.reads.invalidate();
    return (rowCount ?? 0) > 0;
  }

  async labelled(limit: number): Promise<LabelledEvent[]> {
    const { rows } = await this.pool.query<ClassifierRow & { label: ThreatCategory }>(
      `SELECT ${CLASSIFIER_COLUMNS}, l.category AS label
         FROM threat_labels l JOIN threat_events e ON e.id = l.event_id
        ORDER BY l.labelled_at DESC, l.event_id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ input: toClassifierInput(r), label: r.label }));
  }

  async countLabelsSince(since: Date | null): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM threat_labels WHERE $1::timestamptz IS NULL OR labelled_at > $1',
      [since],
    );
    return rows[0]?.n ?? 0;
  }

  async recent(limit: number): Promise<ClassifierInput[]> {
    const { rows } = await this.pool.query<ClassifierRow>(
      `SELECT ${CLASSIFIER_COLUMNS} FROM threat_events e ORDER BY e.occurred_at DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toClassifierInput);
  }

  async deleteOlderThan(cutoff: Date, batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM threat_events WHERE id IN (
         SELECT id FROM threat_events WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2)`,
      [cutoff, batch],
    );
    if ((rowCount ?? 0) > 0) this.changed();
    return rowCount ?? 0;
  }

  /** After a write of rows: counts and reads in flight may no longer hold. */
  private changed(): void {
    this.counter.invalidate();
    this.reads.invalidate();
  }
}

interface ClassifierRow extends Omit<ClassifierInput, 'sourceIsPrivate' | 'tags'> {
  tags: string[];
  sourceIp: string;
}

function toClassifierInput({ sourceIp, ...row }: ClassifierRow): ClassifierInput {
  const parsed = parseIp(sourceIp);
  return { ...row, sourceIsPrivate: parsed.ok && parsed.range !== 'PUBLIC' };
}
