import type { ThreatEventRecord } from './threat-types.js';

/**
 * The parameters of the bulk INSERT (threat-event-repository.ts): one PostgreSQL array
 * literal per column, built in one pass over the events.
 *
 * pg would build the same literals from JS arrays, but element by element through its
 * generic value preparation and escaping, after one `events.map` per column: for 1,000
 * events that was ~8 % of the server's ingest CPU. Every element is written quoted (text,
 * numbers and timestamps alike), so only `"` and `\` need escaping; NULL is the one
 * unquoted word. Validation has already refused NUL bytes, which PostgreSQL cannot store.
 */

/** Column order of the statement's parameters ($15, ingested_at, is a scalar and comes separately). */
const COLUMNS = 28;

const quote = (value: string): string =>
  value.includes('"') || value.includes('\\') ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;

const element = (value: string | number | boolean | null | undefined): string => {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return quote(typeof value === 'number' ? String(value) : value);
};

const iso = (d: Date) => d.toISOString();

/** A text[] literal of the tags, itself stored as one element of the tags column. */
export function textArrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + quote(values[i] ?? '');
  return `${out}}`;
}

/** $1…$29 of the INSERT, in order. */
export function insertParams(events: readonly ThreatEventRecord[]): string[] {
  const cols: string[][] = Array.from({ length: COLUMNS }, () => new Array<string>(events.length));
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const row = [
      e.id,
      e.externalId,
      e.sourceIp,
      e.destinationIp,
      e.sourcePort,
      e.destinationPort,
      e.protocol,
      e.threatType,
      e.severity,
      e.confidence,
      e.description,
      e.sensor,
      textArrayLiteral(e.tags),
      iso(e.occurredAt),
      e.countryCode,
      e.city,
      e.latitude,
      e.longitude,
      e.geoApproximate,
      e.asn,
      e.asOrg,
      e.category,
      e.categoryConfidence,
      e.anomalyScore,
      e.isAnomaly,
      e.classificationMethod,
      e.modelVersion,
      e.raw === null || e.raw === undefined ? null : JSON.stringify(e.raw),
    ];
    for (let c = 0; c < COLUMNS; c++) cols[c]![i] = element(row[c]);
  }
  const arrays = cols.map((col) => `{${col.join(',')}}`);
  const ingestedAt = iso(events[0]?.ingestedAt ?? new Date());
  // $15 is ingested_at, shared by the whole batch.
  return [...arrays.slice(0, 14), ingestedAt, ...arrays.slice(14)];
}
