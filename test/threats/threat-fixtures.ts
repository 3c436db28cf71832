/** GraphQL documents and event builders shared by the threat-event tests. */

export const EVENT_FIELDS = `id externalId sourceIp destinationIp sourcePort destinationPort protocol threatType
  severity confidence description sensor tags occurredAt ingestedAt knownIoc banned label raw
  geo { countryCode countryName latitude longitude approximate }
  classification { category confidence anomalyScore isAnomaly method modelVersion }`;

export const INGEST_ONE = `mutation($input: ThreatEventInput!) { ingestThreatEvent(input: $input) { ${EVENT_FIELDS} } }`;
export const INGEST_MANY = `mutation($inputs: [ThreatEventInput!]!) {
  ingestThreatEvents(inputs: $inputs) { accepted duplicates errors { index field message } } }`;
export const LIST = `query($filter: ThreatEventFilter, $first: Int, $after: String) {
  threatEvents(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${EVENT_FIELDS} } } } }`;

export interface EventView {
  id: string;
  externalId: string | null;
  sourceIp: string;
  severity: number;
  threatType: string;
  occurredAt: string;
  label: string | null;
  geo: {
    countryCode: string | null;
    countryName: string | null;
    latitude: number | null;
    longitude: number | null;
    approximate: boolean;
  } | null;
  classification: {
    category: string;
    confidence: number;
    anomalyScore: number | null;
    isAnomaly: boolean;
    method: string;
    modelVersion: string | null;
  };
}

export interface IngestResultView {
  accepted: number;
  duplicates: number;
  errors: { index: number; field: string | null; message: string }[];
}

/** Public addresses the bundled country database places in the given countries. */
export const IPS = { US: '8.8.8.8', DE: '5.9.0.1', JP: '133.242.0.1' } as const;

let counter = 0;
/** A plausible SSH brute-force event; override any field. */
export function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  return {
    sourceIp: IPS.US,
    destinationIp: '10.0.0.5',
    sourcePort: 40000 + (counter % 20000),
    destinationPort: 22,
    protocol: 'tcp',
    threatType: 'ssh_bruteforce',
    severity: 5,
    confidence: 0.9,
    description: 'Failed password for root',
    sensor: 'test-sensor',
    tags: ['ssh'],
    occurredAt: new Date(Date.now() - (counter % 1000) * 1000).toISOString(),
    ...overrides,
  };
}
