/**
 * Storage of CrowdSec alerts, in SQL on the shared pool for the same reasons as the
 * decision repository; `hasActiveDecision` joins the decision table through the LAPI
 * decision ids the alert carried.
 */
import type pg from 'pg';
import { fromColumns, type GeoColumns } from './crowdsec-geo.js';
import { NO_OUTBOX, type Outbox } from '../platform/outbox.js';
import { listStatement, pageOf, RowCounter, type Cursor } from '../platform/page.js';
import type { AlertFilter, AlertPage, AlertRecord } from './crowdsec-types.js';

/** An alert as the poller hands it over: the record's fields without our id, with GeoIP columns. */
export interface AlertInput extends Omit<AlertRecord, 'id' | 'lapiUrl' | 'geo' | 'streamPosition'> {
  geo: GeoColumns;
}

interface AlertRow extends GeoColumns {
  id: string;
  lapi_url: string;
  crowdsec_id: string;
  scenario: string;
  scenario_version: string | null;
  message: string;
  events_count: number;
  start_at: Date;
  stop_at: Date;
  lapi_created_at: Date;
  machine_id: string | null;
  simulated: boolean;
  source_scope: string;
  source_value: string;
  source_ip: string | null;
  source_range: string | null;
  decision_ids: string[] | null;
  stream_position: string;
  inserted?: boolean;
}

const COLUMNS = `a.id, a.lapi_url, a.crowdsec_id, a.scenario, a.scenario_version, a.message, a.events_count,
  a.start_at, a.stop_at, a.lapi_created_at, a.machine_id, a.simulated, a.source_scope, a.source_value,
  a.source_ip, a.source_range, a.country_code, a.city, a.latitude, a.longitude, a.geo_approximate, a.asn,
  a.as_org, a.decision_ids, a.stream_position::text AS stream_position`;

/** A new alert as a webhook sees it (ALERT_CREATED). */
const ALERT_PAYLOAD = `jsonb_build_object('id', up.id::text, 'crowdsecId', up.crowdsec_id, 'scenario', up.scenario,
  'scenarioVersion', up.scenario_version, 'message', up.message, 'eventsCount', up.events_count,
  'startAt', up.start_at, 'stopAt', up.stop_at, 'createdAt', up.lapi_created_at, 'machineId', up.machine_id,
  'simulated', up.simulated, 'sourceScope', up.source_scope, 'sourceValue', up.source_value,
  'sourceIp', up.source_ip, 'sourceRange', up.source_range, 'countryCode', up.country_code, 'city', up.city,
  'asn', up.asn, 'asOrg', up.as_org, 'decisionIds', up.decision_ids)`;

function toAlert(row: AlertRow): AlertRecord {
  return {
    id: String(row.id),
    lapiUrl: row.lapi_url,
    crowdsecId: Number(row.crowdsec_id),
    scenario: row.scenario,
    scenarioVersion: row.scenario_version,
    message: row.message,
    eventsCount: row.events_count,
    startAt: row.start_at,
    stopAt: row.stop_at,
    createdAt: row.lapi_created_at,
    machineId: row.machine_id,
    simulated: row.simulated,
    sourceScope: row.source_scope,
    sourceValue: row.source_value,
    sourceIp: row.source_ip,
    sourceRange: row.source_range,
    geo: fromColumns(row),
    decisionIds: (row.decision_ids ?? []).map(Number),
    streamPosition: row.stream_position,
  };
}

export class AlertRepository {
  private readonly counter: RowCounter;

  constructor(
    private readonly pool: pg.Pool,
    private readonly outbox: Outbox = NO_OUTBOX,
  ) {
    this.counter = new RowCounter(pool);
  }

  /** Highest LAPI alert id stored for this LAPI: the "caught up" mark of the poller. */
  async maxCrowdsecId(lapiUrl: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ max: string | null }>(
      'SELECT max(crowdsec_id) AS max FROM crowdsec_alerts WHERE lapi_url = $1',
      [lapiUrl],
    );
    return rows[0]?.max == null ? undefined : Number(rows[0].max);
  }

  /**
   * Inserts the alerts we do not have yet (de-duplication by LAPI id) and returns
   * them. Known alerts only get their decision list refreshed: it is all that changes.
   * Decision ids travel as a JSON array: unnest() cannot take a ragged bigint[][].
   */
  async upsertBatch(lapiUrl: string, batch: readonly AlertInput[]): Promise<AlertRecord[]> {
    if (batch.length === 0) return [];
    const col = <T>(fn: (a: AlertInput) => T) => batch.map(fn);
    // New alerts' webhook outbox rows go in the same statement (ALERT_CREATED).
    const cte = this.outbox.cte('ALERT_CREATED', {
      from: 'up',
      where: 'up.inserted',
      payload: ALERT_PAYLOAD,
      scenario: 'up.scenario',
    });
    const { rows } = await this.pool.query<AlertRow>(
      `${cte ? 'WITH up AS (' : ''}INSERT INTO crowdsec_alerts AS a (lapi_url, crowdsec_id, scenario, scenario_version, message, events_count,
         start_at, stop_at, lapi_created_at, machine_id, simulated, source_scope, source_value, source_ip,
         source_range, country_code, city, latitude, longitude, geo_approximate, asn, as_org, decision_ids)
       SELECT $1, u.id, u.scenario, u.version, u.message, u.events, u.start_at, u.stop_at, u.created_at,
         u.machine, u.simulated, u.scope, u.value, u.ip, u.range, u.cc, u.city, u.lat, u.lon, u.approx,
         u.asn, u.as_org,
         ARRAY(SELECT jsonb_array_elements_text(u.decisions)::bigint)
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[],
         $8::timestamptz[], $9::timestamptz[], $10::text[], $11::boolean[], $12::text[], $13::text[],
         $14::text[], $15::text[], $16::text[], $17::text[], $18::float8[], $19::float8[], $20::boolean[],
         $21::int[], $22::text[], $23::jsonb[])
         AS u(id, scenario, version, message, events, start_at, stop_at, created_at, machine, simulated, scope,
              value, ip, range, cc, city, lat, lon, approx, asn, as_org, decisions)
       ON CONFLICT (lapi_url, crowdsec_id) DO UPDATE SET decision_ids = EXCLUDED.decision_ids
       RETURNING ${COLUMNS}, (xmax = 0) AS inserted${cte ? `) ${cte} SELECT * FROM up` : ''}`,
      [
        lapiUrl,
        col((a) => a.crowdsecId),
        col((a) => a.scenario),
        col((a) => a.scenarioVersion),
        col((a) => a.message),
        col((a) => a.eventsCount),
        col((a) => a.startAt),
        col((a) => a.stopAt),
        col((a) => a.createdAt),
        col((a) => a.machineId),
        col((a) => a.simulated),
        col((a) => a.sourceScope),
        col((a) => a.sourceValue),
        col((a) => a.sourceIp),
        col((a) => a.sourceRange),
        col((a) => a.geo.country_code),
        col((a) => a.geo.city),
        col((a) => a.geo.latitude),
        col((a) => a.geo.longitude),
        col((a) => a.geo.geo_approximate),
        col((a) => a.geo.asn),
        col((a) => a.geo.as_org),
        col((a) => JSON.stringify(a.decisionIds)),
      ],
    );
    this.counter.invalidate();
    return rows.filter((r) => r.inserted).map(toAlert);
  }

  /** Alerts with a stream position above `after`, in position order, at most `limit`. */
  async readAfterPosition(after: bigint, limit: number): Promise<AlertRecord[]> {
    const { rows } = await this.pool.query<AlertRow>(
      `SELECT ${COLUMNS} FROM crowdsec_alerts a WHERE a.stream_position > $1 ORDER BY a.stream_position LIMIT $2`,
      [after.toString(), limit],
    );
    return rows.map(toAlert);
  }

  /** The highest committed stream position (0 when none). */
  async headPosition(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>(
      'SELECT max(stream_position)::text AS head FROM crowdsec_alerts',
    );
    return BigInt(rows[0]?.head ?? '0');
  }

  /** When the first alert after stream position `after` was received; null when none. */
  async firstReceivedAfter(after: bigint): Promise<Date | null> {
    const { rows } = await this.pool.query<{ at: Date }>(
      'SELECT received_at AS at FROM crowdsec_alerts WHERE stream_position > $1 ORDER BY stream_position LIMIT 1',
      [after.toString()],
    );
    return rows[0]?.at ?? null;
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<AlertRow>(
      `SELECT ${COLUMNS} FROM crowdsec_alerts a WHERE a.id = $1`,
      [id],
    );
    return rows[0] && toAlert(rows[0]);
  }

  /** Newest first by (startAt, id); the count runs only when asked. */
  async list(filter: AlertFilter, first: number, after: Cursor | undefined): Promise<AlertPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.ip) where.push(`(a.source_value = ${p(filter.ip)} OR a.source_ip = ${p(filter.ip)})`);
    if (filter.scenario) where.push(`a.scenario = ${p(filter.scenario)}`);
    if (filter.since) where.push(`a.start_at >= ${p(filter.since)}`);
    if (filter.until) where.push(`a.start_at < ${p(filter.until)}`);
    if (filter.countryCode) where.push(`a.country_code = ${p(filter.countryCode.toUpperCase())}`);
    if (filter.hasActiveDecision != null) {
      where.push(`${filter.hasActiveDecision ? '' : 'NOT '}EXISTS (SELECT 1 FROM crowdsec_decisions d
        WHERE d.lapi_url = a.lapi_url AND d.crowdsec_id = ANY(a.decision_ids)
          AND d.deleted_at IS NULL AND d.expires_at > now())`);
    }
    const countWhere = [...where];
    const countParams = [...params];
    if (after) where.push(`(a.start_at, a.id) < (${p(after.at)}, ${p(after.id)}::bigint)`);
    const page = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows } = await this.pool.query<AlertRow>(
      listStatement(
        `SELECT ${COLUMNS} FROM crowdsec_alerts a ${page} ORDER BY a.start_at DESC, a.id DESC LIMIT ${p(first + 1)}`,
        params,
      ),
    );
    return pageOf(rows.map(toAlert), first, () =>
      this.counter.count('crowdsec_alerts a', countWhere, countParams),
    );
  }
}
