import { FormattedDate } from '../platform/page.js';
import type { ThreatEventField, ThreatEventFilter, ThreatEventRecord } from './threat-types.js';

/** SQL fragments shared by the threat-event repository's queries. */

/** The SQL expression of each record field, named as in ThreatEventRecord. */
const EVENT_COLUMNS: Record<keyof ThreatEventRecord, string> = {
  id: 'e.id',
  externalId: 'e.external_id AS "externalId"',
  sourceIp: 'host(e.source_ip) AS "sourceIp"',
  destinationIp: 'host(e.destination_ip) AS "destinationIp"',
  sourcePort: 'e.source_port AS "sourcePort"',
  destinationPort: 'e.destination_port AS "destinationPort"',
  protocol: 'e.protocol',
  threatType: 'e.threat_type AS "threatType"',
  severity: 'e.severity',
  confidence: 'e.confidence',
  description: 'e.description',
  sensor: 'e.sensor',
  tags: 'e.tags',
  occurredAt: 'e.occurred_at AS "occurredAt"',
  ingestedAt: 'e.ingested_at AS "ingestedAt"',
  countryCode: 'e.country_code AS "countryCode"',
  city: 'e.city',
  latitude: 'e.latitude',
  longitude: 'e.longitude',
  geoApproximate: 'e.geo_approximate AS "geoApproximate"',
  asn: 'e.asn',
  asOrg: 'e.as_org AS "asOrg"',
  knownIoc: 'e.known_ioc AS "knownIoc"',
  banned: 'e.banned',
  category: 'e.category',
  categoryConfidence: 'e.category_confidence AS "categoryConfidence"',
  anomalyScore: 'e.anomaly_score AS "anomalyScore"',
  isAnomaly: 'e.is_anomaly AS "isAnomaly"',
  classificationMethod: 'e.classification_method AS "classificationMethod"',
  modelVersion: 'e.model_version AS "modelVersion"',
  label: 'l.category AS label',
  raw: 'e.raw',
  streamPosition: 'e.stream_position::text AS "streamPosition"',
};

const LABEL_JOIN = 'LEFT JOIN threat_labels l ON l.event_id = e.id';

/** Every column of an event. */
export const SELECT_EVENT = `SELECT ${Object.values(EVENT_COLUMNS).join(', ')} FROM threat_events e ${LABEL_JOIN}`;

/**
 * `SELECT … FROM` of only the given fields, plus id and occurredAt (a page's cursor is
 * made of them); the label table is joined only when the label is asked for. Without
 * fields, every column.
 */
export function selectEvents(fields: ReadonlySet<ThreatEventField> | undefined): string {
  if (!fields) return SELECT_EVENT;
  let select = selects.get(fields);
  if (select === undefined) {
    select = selectOf(fields);
    selects.set(fields, select);
  }
  return select;
}

/**
 * The SELECT of each field set seen, by identity: the sets that come back on every
 * request (a document's fields, resolvers/threats.ts; an export's columns) are kept.
 * Field sets are not changed once handed to a list.
 */
const selects = new WeakMap<ReadonlySet<ThreatEventField>, string>();

function selectOf(fields: ReadonlySet<ThreatEventField>): string {
  const columns = (Object.keys(EVENT_COLUMNS) as ThreatEventField[])
    .filter((f) => f === 'id' || f === 'occurredAt' || fields.has(f))
    .map((f) => EVENT_COLUMNS[f]);
  return `SELECT ${columns.join(', ')} FROM threat_events e ${fields.has('label') ? LABEL_JOIN : ''}`;
}

/** Rows come back in this shape already; only `tags` may be NULL for rows not written by us. */
export function toRecord(row: ThreatEventRecord): ThreatEventRecord {
  if (row.tags === null) row.tags = [];
  return row;
}

/**
 * A row of a list. Identical lists in flight share their rows (SharedReads), so the
 * dates keep their ISO text for every answer that serves them (FormattedDate).
 */
export function toListRecord(row: ThreatEventRecord): ThreatEventRecord {
  if (row.tags === null) row.tags = [];
  if (row.occurredAt instanceof Date) row.occurredAt = new FormattedDate(row.occurredAt.getTime());
  if (row.ingestedAt instanceof Date) row.ingestedAt = new FormattedDate(row.ingestedAt.getTime());
  return row;
}

/** Builds `WHERE` conditions and their parameters from a filter (parameters numbered from 1). */
export function whereOf(filter: ThreatEventFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.since) add((p) => `e.occurred_at >= ${p}`, filter.since);
  if (filter.until) add((p) => `e.occurred_at < ${p}`, filter.until);
  if (filter.minSeverity !== null && filter.minSeverity !== undefined)
    add((p) => `e.severity >= ${p}`, filter.minSeverity);
  if (filter.categories?.length) add((p) => `e.category = ANY(${p}::"ThreatCategory"[])`, filter.categories);
  if (filter.countries?.length) add((p) => `e.country_code = ANY(${p}::bpchar[])`, filter.countries);
  if (filter.sourceIp) add((p) => `e.source_ip = ${p}::inet`, filter.sourceIp);
  if (filter.threatType) add((p) => `e.threat_type = ${p}`, filter.threatType);
  if (filter.anomaliesOnly) where.push('e.is_anomaly');
  return where;
}

/** Columns the classifier reads, named as in ClassifierInput (sourceIsPrivate is derived in code). */
export const CLASSIFIER_COLUMNS = `
  e.threat_type AS "threatType", e.description, e.protocol, e.source_port AS "sourcePort",
  e.destination_port AS "destinationPort", e.severity, e.confidence, COALESCE(e.tags, '{}') AS tags,
  host(e.source_ip) AS "sourceIp", e.occurred_at AS "occurredAt"`;
