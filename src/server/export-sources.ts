/**
 * What each export reads: keyset pages of a list through its own service, so an export
 * takes the same filter (same checks, same meaning) as the GraphQL list it mirrors, and
 * the columns it writes. CSV and JSON Lines share the column names.
 */
import type { CrowdsecService } from '../crowdsec/crowdsec-service.js';
import type { AlertFilter, AlertRecord, DecisionRecord } from '../crowdsec/crowdsec-types.js';
import { isActive } from '../crowdsec/crowdsec-types.js';
import type { ExportColumn, ExportSource, ExportSources } from '../feeds/export-types.js';
import type { IocRecord } from '../iocs/ioc-record.js';
import type { IocService } from '../iocs/ioc-service.js';
import type { ThreatEventField, ThreatEventFilter, ThreatEventRecord } from '../threats/threat-types.js';
import type { ThreatService } from '../threats/threat-service.js';

type Filter = Record<string, unknown>;

const toDate = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string);
/** A filter as GraphQL handed it, with its DateTime fields as Dates (links carry ISO text). */
const withDates = (f: unknown, ...fields: string[]): Filter => {
  const out: Filter = { ...((f ?? {}) as Filter) };
  for (const k of fields) if (k in out) out[k] = toDate(out[k]);
  return out;
};
/** The filter as a link carries it: JSON (dates as ISO text). */
const asJson = (f: unknown): unknown => JSON.parse(JSON.stringify(f ?? {})) as unknown;

function source<T>(s: Omit<ExportSource<T>, 'json'>): ExportSource<T> {
  return {
    ...s,
    json: (row: T) => Object.fromEntries(s.columns.map((c) => [c.name, jsonValue(c.get(row))])),
  };
}

const jsonValue = (v: unknown) => (v instanceof Date ? v.toISOString() : v === undefined ? null : v);

function col<T>(name: string, get: ExportColumn<T>['get']): ExportColumn<T> {
  return { name, get };
}

/** The record fields the threat-event export writes. */
const THREAT_EVENT_FIELDS: ReadonlySet<ThreatEventField> = new Set<ThreatEventField>([
  'id',
  'externalId',
  'occurredAt',
  'ingestedAt',
  'sourceIp',
  'sourcePort',
  'destinationIp',
  'destinationPort',
  'protocol',
  'threatType',
  'severity',
  'confidence',
  'category',
  'categoryConfidence',
  'anomalyScore',
  'isAnomaly',
  'countryCode',
  'asn',
  'asOrg',
  'sensor',
  'tags',
  'description',
]);

function threatEvents(threats: ThreatService): ExportSource<ThreatEventRecord> {
  const filterOf = (f: unknown) => withDates(f, 'since', 'until') as ThreatEventFilter;
  return source<ThreatEventRecord>({
    async check(f) {
      await threats.list(filterOf(f), 1, undefined, new Set(['id']));
      return asJson(f);
    },
    // Only the exported columns are read (not `raw`, which can be large).
    page: (f, first, after) => threats.list(filterOf(f), first, after, THREAT_EVENT_FIELDS),
    keyOf: (r) => ({ at: r.occurredAt, id: r.id }),
    columns: [
      col('id', (r) => r.id),
      col('external_id', (r) => r.externalId),
      col('occurred_at', (r) => r.occurredAt),
      col('ingested_at', (r) => r.ingestedAt),
      col('source_ip', (r) => r.sourceIp),
      col('source_port', (r) => r.sourcePort),
      col('destination_ip', (r) => r.destinationIp),
      col('destination_port', (r) => r.destinationPort),
      col('protocol', (r) => r.protocol),
      col('threat_type', (r) => r.threatType),
      col('severity', (r) => r.severity),
      col('confidence', (r) => r.confidence),
      col('category', (r) => r.category),
      col('category_confidence', (r) => r.categoryConfidence),
      col('anomaly_score', (r) => r.anomalyScore),
      col('is_anomaly', (r) => r.isAnomaly),
      col('country_code', (r) => r.countryCode),
      col('asn', (r) => r.asn),
      col('as_org', (r) => r.asOrg),
      col('sensor', (r) => r.sensor),
      col('tags', (r) => r.tags),
      col('description', (r) => r.description),
    ],
  });
}

function iocs(service: IocService): ExportSource<IocRecord> {
  return source<IocRecord>({
    async check(f) {
      await service.list(f ?? {}, 1, undefined, false);
      return asJson(f);
    },
    page: (f, first, after) => service.list(f ?? {}, first, after, false),
    keyOf: (r) => r.sortKey ?? { at: r.firstSeenAt, id: r.id },
    columns: [
      col('value', (r) => r.value),
      col('type', (r) => r.type),
      col('risk_score', (r) => r.riskScore),
      col('risk_level', (r) => r.riskLevel),
      col('categories', (r) => r.categories),
      col('verdict', (r) => r.verdict?.verdict ?? null),
      col('watched', (r) => r.watched),
      col('first_seen_at', (r) => r.firstSeenAt),
      col('last_seen_at', (r) => r.lastSeenAt),
      col('last_enriched_at', (r) => r.lastEnrichedAt),
    ],
  });
}

function decisions(crowdsec: CrowdsecService): ExportSource<DecisionRecord> {
  return source<DecisionRecord>({
    async check(f) {
      await crowdsec.listDecisions(f ?? {}, 1, undefined);
      return asJson(f);
    },
    page: (f, first, after) => crowdsec.listDecisions(f ?? {}, first, after),
    keyOf: (r) => ({ at: r.createdAt, id: r.id }),
    columns: [
      col('id', (r) => r.id),
      col('crowdsec_id', (r) => r.crowdsecId),
      col('origin', (r) => r.origin),
      col('type', (r) => r.type),
      col('scope', (r) => r.scope),
      col('value', (r) => r.value),
      col('scenario', (r) => r.scenario),
      col('simulated', (r) => r.simulated),
      col('active', (r) => isActive(r)),
      col('created_at', (r) => r.createdAt),
      col('expires_at', (r) => r.expiresAt),
      col('deleted_at', (r) => r.deletedAt),
      col('country_code', (r) => r.geo?.countryCode ?? null),
      col('as_org', (r) => r.geo?.asOrg ?? null),
    ],
  });
}

function alerts(crowdsec: CrowdsecService): ExportSource<AlertRecord> {
  const filterOf = (f: unknown) => withDates(f, 'since', 'until') as AlertFilter;
  return source<AlertRecord>({
    async check(f) {
      await crowdsec.listAlerts(filterOf(f), 1, undefined);
      return asJson(f);
    },
    page: (f, first, after) => crowdsec.listAlerts(filterOf(f), first, after),
    keyOf: (r) => ({ at: r.startAt, id: r.id }),
    columns: [
      col('id', (r) => r.id),
      col('crowdsec_id', (r) => r.crowdsecId),
      col('scenario', (r) => r.scenario),
      col('message', (r) => r.message),
      col('events_count', (r) => r.eventsCount),
      col('start_at', (r) => r.startAt),
      col('stop_at', (r) => r.stopAt),
      col('source_scope', (r) => r.sourceScope),
      col('source_value', (r) => r.sourceValue),
      col('source_ip', (r) => r.sourceIp),
      col('source_range', (r) => r.sourceRange),
      col('machine_id', (r) => r.machineId),
      col('country_code', (r) => r.geo?.countryCode ?? null),
      col('decision_ids', (r) => r.decisionIds.map(String)),
    ],
  });
}

export function exportSources(s: {
  threats: ThreatService;
  iocs: IocService;
  crowdsec: CrowdsecService;
}): ExportSources {
  return {
    THREAT_EVENTS: threatEvents(s.threats),
    IOCS: iocs(s.iocs),
    DECISIONS: decisions(s.crowdsec),
    ALERTS: alerts(s.crowdsec),
  } as unknown as ExportSources;
}
