import type { ThreatEventFilter, ThreatEventRecord } from './threat-types.js';

/** SQL fragments shared by the threat-event repository's queries. */

export const SELECT_EVENT = `
  SELECT e.id, e.external_id AS "externalId", host(e.source_ip) AS "sourceIp",
         host(e.destination_ip) AS "destinationIp", e.source_port AS "sourcePort",
         e.destination_port AS "destinationPort", e.protocol, e.threat_type AS "threatType",
         e.severity, e.confidence, e.description, e.sensor, e.tags, e.occurred_at AS "occurredAt",
         e.ingested_at AS "ingestedAt", e.country_code AS "countryCode", e.city, e.latitude, e.longitude,
         e.geo_approximate AS "geoApproximate", e.asn, e.as_org AS "asOrg", e.known_ioc AS "knownIoc",
         e.banned, e.category, e.category_confidence AS "categoryConfidence",
         e.anomaly_score AS "anomalyScore", e.is_anomaly AS "isAnomaly",
         e.classification_method AS "classificationMethod", e.model_version AS "modelVersion",
         l.category AS label, e.raw
    FROM threat_events e
    LEFT JOIN threat_labels l ON l.event_id = e.id`;

/** Rows come back in this shape already; only `tags` may be NULL for rows not written by us. */
export function toRecord(row: ThreatEventRecord): ThreatEventRecord {
  if (row.tags === null) row.tags = [];
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
