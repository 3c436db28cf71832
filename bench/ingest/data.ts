import { isPublicIp } from '../../src/geo/ip-address.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';

/** Deterministic event inputs for bench/ingest/ingest.ts: the same rows on every run. */

const KINDS = [
  {
    threatType: 'ssh_bruteforce',
    description: 'Failed password for root',
    port: 22,
    protocol: 'tcp',
    severity: 5,
  },
  {
    threatType: 'port_scan',
    description: 'SYN sweep over 1000 ports',
    port: 443,
    protocol: 'tcp',
    severity: 3,
  },
  {
    threatType: 'sql_injection',
    description: "GET /item?id=1' UNION SELECT password FROM users--",
    port: 80,
    protocol: 'http',
    severity: 8,
  },
  {
    threatType: 'ddos',
    description: 'SYN flood towards the web tier',
    port: 443,
    protocol: 'tcp',
    severity: 9,
  },
  {
    threatType: 'smtp_spam',
    description: 'Bulk mail from listed sender',
    port: 25,
    protocol: 'smtp',
    severity: 2,
  },
  {
    threatType: 'botnet_c2',
    description: 'Beacon to known C2 every 60s',
    port: 6667,
    protocol: 'tcp',
    severity: 8,
  },
] as const;

export function benchInputs(count: number, runTag: string): Record<string, unknown>[] {
  let state = 0x2545f491;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const now = Date.now();
  const out: Record<string, unknown>[] = [];
  while (out.length < count) {
    const n = next();
    const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    if (!isPublicIp(ip)) continue;
    const kind = KINDS[next() % KINDS.length]!;
    const i = out.length;
    out.push({
      externalId: `${runTag}-${i}`,
      sourceIp: ip,
      destinationIp: `10.0.${(n >>> 8) & 255}.${n & 255}`,
      sourcePort: 32768 + (next() % 28000),
      destinationPort: kind.port,
      protocol: kind.protocol,
      threatType: kind.threatType,
      severity: Math.min(10, kind.severity + (next() % 2)),
      confidence: 0.5 + (next() % 50) / 100,
      description: kind.description,
      sensor: 'bench-sensor-01',
      tags: ['bench', kind.protocol],
      occurredAt: new Date(now - (next() % 3_600_000)).toISOString(),
    });
  }
  return out;
}

export const COLUMNS = [
  'id',
  'external_id',
  'source_ip',
  'destination_ip',
  'source_port',
  'destination_port',
  'protocol',
  'threat_type',
  'severity',
  'confidence',
  'description',
  'sensor',
  'tags',
  'occurred_at',
  'ingested_at',
  'country_code',
  'city',
  'latitude',
  'longitude',
  'geo_approximate',
  'asn',
  'as_org',
  'known_ioc',
  'banned',
  'category',
  'category_confidence',
  'anomaly_score',
  'is_anomaly',
  'classification_method',
  'model_version',
  'raw',
] as const;

const arrayLiteral = (values: readonly string[]) =>
  `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());

/** One record as SQL parameter values, in COLUMNS order. */
export function values(r: ThreatEventRecord): (string | number | boolean | null)[] {
  return [
    r.id,
    r.externalId,
    r.sourceIp,
    r.destinationIp,
    r.sourcePort,
    r.destinationPort,
    r.protocol,
    r.threatType,
    r.severity,
    r.confidence,
    r.description,
    r.sensor,
    arrayLiteral(r.tags),
    iso(r.occurredAt),
    iso(r.ingestedAt),
    r.countryCode,
    r.city,
    r.latitude,
    r.longitude,
    r.geoApproximate,
    r.asn,
    r.asOrg,
    r.knownIoc,
    r.banned,
    r.category,
    r.categoryConfidence,
    r.anomalyScore,
    r.isAnomaly,
    r.classificationMethod,
    r.modelVersion,
    r.raw === null || r.raw === undefined ? null : JSON.stringify(r.raw),
  ];
}

/** COPY text-format line of one record. */
export function copyLine(r: ThreatEventRecord): string {
  return (
    values(r)
      .map((v) =>
        v === null || v === undefined
          ? '\\N'
          : String(v).replace(
              /[\\\t\n\r]/g,
              (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? c,
            ),
      )
      .join('\t') + '\n'
  );
}
