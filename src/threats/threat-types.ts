import { listOf, topic, withDates } from '../platform/event-bus.js';
import type { Page } from '../platform/page.js';
import type { ClassificationMethod, ThreatCategory } from './classifier/index.js';

/**
 * Domain types of threat events. GraphQL codegen maps `ThreatEvent`,
 * `ThreatEventConnection` and `ClassifierModel` to these names (codegen.ts).
 */

/** A stored event (THREATS_TOPIC restores its dates after a trip over the event bus). */
export interface ThreatEventRecord {
  id: string;
  externalId: string | null;
  sourceIp: string;
  destinationIp: string | null;
  sourcePort: number | null;
  destinationPort: number | null;
  protocol: string | null;
  threatType: string;
  severity: number;
  confidence: number;
  description: string | null;
  sensor: string | null;
  tags: string[];
  occurredAt: Date;
  ingestedAt: Date;
  countryCode: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  geoApproximate: boolean;
  asn: number | null;
  asOrg: string | null;
  knownIoc: boolean;
  banned: boolean;
  category: ThreatCategory;
  categoryConfidence: number;
  anomalyScore: number | null;
  isAnomaly: boolean;
  classificationMethod: ClassificationMethod;
  modelVersion: string | null;
  label: ThreatCategory | null;
  raw: unknown;
  /**
   * The event's position in the threatDetected stream (a bigint as decimal text), set
   * by the INSERT (commit-ordered, src/platform/resumable-stream.ts); subscription
   * cursors are made of it.
   */
  streamPosition: string;
}

/** What a sender may give for one event (GraphQL `ThreatEventInput`), before validation. */
export interface ThreatEventInputData {
  externalId?: string | null;
  sourceIp: string;
  destinationIp?: string | null;
  sourcePort?: number | null;
  destinationPort?: number | null;
  protocol?: string | null;
  threatType: string;
  severity: number;
  confidence?: number | null;
  description?: string | null;
  sensor?: string | null;
  tags?: readonly string[] | null;
  occurredAt?: Date | string | null;
  raw?: unknown;
}

export interface IngestError {
  index: number;
  field: string | null;
  message: string;
}

export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  errors: IngestError[];
  /** The stored events, in input order (not exposed by the bulk mutation). */
  events: ThreatEventRecord[];
  /** Indexes of inputs whose externalId was already stored. */
  duplicateIndexes: number[];
}

export interface ThreatEventFilter {
  since?: Date | null;
  until?: Date | null;
  minSeverity?: number | null;
  categories?: readonly ThreatCategory[] | null;
  countries?: readonly string[] | null;
  sourceIp?: string | null;
  threatType?: string | null;
  anomaliesOnly?: boolean | null;
}

export type ThreatEventPage = Page<ThreatEventRecord>;

/** Fields of a threat-event record, for lists that read only some of them. */
export type ThreatEventField = keyof ThreatEventRecord;

export interface ThreatMapPoint {
  countryCode: string | null;
  countryName: string | null;
  city: string | null;
  latitude: number;
  longitude: number;
  approximate: boolean;
  count: number;
  maxSeverity: number;
}

export type ClassifierModelKind = 'FOREST' | 'ANOMALY';

export interface ClassifierModelRecord {
  id: string;
  kind: ClassifierModelKind;
  version: string;
  createdAt: Date;
  trainedOn: number;
  cvAccuracy: number | null;
  rulesAccuracy: number | null;
  promoted: boolean;
  active: boolean;
}

/** The event-bus topic carrying arrays of newly stored events (one message per ingest call). */
export const THREATS_TOPIC = topic<ThreatEventRecord[]>(
  'threats.detected',
  listOf(withDates<ThreatEventRecord>('occurredAt', 'ingestedAt')),
);
