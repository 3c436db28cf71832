/**
 * Where an indicator was seen: threat events whose source address it is, and CrowdSec
 * alerts (by source value or source IP) and decisions (by value) naming it. Reads the threat and CrowdSec tables
 * (their modules own the writes) with one statement for a whole batch of IOCs, so a
 * page of IOCs asking for `sightings` costs one query, not three per row.
 */
import type pg from 'pg';
import { COUNT_LIMIT, rowCount } from '../platform/page.js';
import type { IocType } from './ioc-types.js';

/** How many of the newest sightings of each kind are named by id. */
export const SIGHTING_IDS = 5;

export interface SightingCountRecord {
  /** Up to COUNT_LIMIT, exact below it. */
  count: number;
  capped: boolean;
  latestAt: Date | null;
  /** Ids of the newest, newest first (at most SIGHTING_IDS). */
  latestIds: string[];
}

export interface IocSightingsRecord {
  threatEvents: SightingCountRecord;
  alerts: SightingCountRecord;
  decisions: SightingCountRecord;
}

/** What can be sighted: an address, or a domain a CrowdSec alert or decision names (custom scope). */
const IP_TYPES: ReadonlySet<IocType> = new Set(['IPV4', 'IPV6']);
const SIGHTED_TYPES: ReadonlySet<IocType> = new Set(['IPV4', 'IPV6', 'DOMAIN']);

const NONE: SightingCountRecord = { count: 0, capped: false, latestAt: null, latestIds: [] };
export const NO_SIGHTINGS: IocSightingsRecord = { threatEvents: NONE, alerts: NONE, decisions: NONE };

interface Row {
  value: string;
  event_n: number;
  event_at: Date | null;
  event_ids: string[];
  alert_n: number;
  alert_at: Date | null;
  alert_ids: string[];
  decision_n: number;
  decision_at: Date | null;
  decision_ids: string[];
}

/**
 * One kind of sighting as a lateral join: the bounded count, and the newest rows (ids and
 * time) from one ordered, limited scan, so finding the newest time never walks the whole
 * table's time index past other sources' rows.
 */
const kind = (alias: string, from: string, match: string, at: string): string => `
  CROSS JOIN LATERAL (
    SELECT (SELECT count(*)::int FROM (SELECT 1 FROM ${from} WHERE ${match} LIMIT ${COUNT_LIMIT + 1}) s) AS n,
      max(x.at) AS at,
      COALESCE(array_agg(x.id::text ORDER BY x.at DESC, x.id DESC), '{}') AS ids
    FROM (SELECT r.id, r.${at} AS at FROM ${from} r WHERE ${match} ORDER BY r.${at} DESC, r.id DESC LIMIT $3) x
  ) ${alias}`;

// Threat events carry addresses only (source_ip is inet, canonical like IOC values);
// CrowdSec names a source by value (an address, or whatever a custom scope holds) and IP.
const SIGHTINGS_SQL = `
  SELECT v.value, event.n AS event_n, event.at AS event_at, event.ids AS event_ids,
    alert.n AS alert_n, alert.at AS alert_at, alert.ids AS alert_ids,
    decision.n AS decision_n, decision.at AS decision_at, decision.ids AS decision_ids
  FROM unnest($1::text[], $2::bool[]) AS u(value, is_ip)
  CROSS JOIN LATERAL (SELECT u.value, CASE WHEN u.is_ip THEN u.value::inet END AS ip) v
  ${kind('event', 'threat_events', 'source_ip = v.ip', 'occurred_at')}
  ${kind('alert', 'crowdsec_alerts', '(source_value = v.value OR source_ip = v.value)', 'start_at')}
  ${kind('decision', 'crowdsec_decisions', 'value = v.value', 'created_at')}`;

export class IocSightingRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Sightings of each IOC, by value; one query for the batch, none when nothing can be sighted. */
  async sightingsOf(
    iocs: readonly { type: IocType; value: string }[],
  ): Promise<Map<string, IocSightingsRecord>> {
    const out = new Map<string, IocSightingsRecord>();
    const wanted = [
      ...new Map(iocs.filter((i) => SIGHTED_TYPES.has(i.type)).map((i) => [i.value, i])).values(),
    ];
    if (wanted.length === 0) return out;
    const { rows } = await this.pool.query<Row>({
      name: 'ioc_sightings',
      text: SIGHTINGS_SQL,
      values: [wanted.map((i) => i.value), wanted.map((i) => IP_TYPES.has(i.type)), SIGHTING_IDS],
    });
    const count = (n: number, at: Date | null, ids: string[]): SightingCountRecord => ({
      ...rowCount(n),
      latestAt: at,
      latestIds: ids,
    });
    for (const r of rows) {
      out.set(r.value, {
        threatEvents: count(r.event_n, r.event_at, r.event_ids),
        alerts: count(r.alert_n, r.alert_at, r.alert_ids),
        decisions: count(r.decision_n, r.decision_at, r.decision_ids),
      });
    }
    return out;
  }
}
