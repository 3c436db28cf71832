/**
 * Public types of the threat-event classifier.
 *
 * The classifier is pure code: no database, no clock, no I/O. It runs on the bulk-ingest
 * hot path, so `classify` is synchronous and must stay in the low microseconds per event.
 */

import type { ThreatCategory } from '../../platform/threat-category.js';

/** The categories are shared with the IOC sources: they live in platform/threat-category.ts. */
export { THREAT_CATEGORIES, isThreatCategory, type ThreatCategory } from '../../platform/threat-category.js';

/**
 * The fields of a threat event that the classifier looks at. Everything else on the event
 * (IPs, geo, sensor, raw payload) is deliberately left out: IPs are identity, not
 * behaviour, and would make a trained model memorise attackers instead of learning classes.
 */
export interface ClassifierInput {
  /** Sensor-provided type, free text such as `ssh_bruteforce`, `ET SCAN nmap`, `ddos`. */
  threatType: string;
  description: string | null;
  /** Transport/protocol name as sent (`tcp`, `UDP`, `icmp`, `http`…); matched case-insensitively. */
  protocol: string | null;
  sourcePort: number | null;
  destinationPort: number | null;
  /** 1–10 as validated by ingestion. */
  severity: number;
  /** 0–1, the sensor's confidence in the detection (not in our category). */
  confidence: number;
  tags: readonly string[];
  /** Whether the source IP is in a private/reserved range; ingestion knows this cheaply. Unknown when omitted. */
  sourceIsPrivate?: boolean;
  /** When the event happened; only the UTC hour of day is used (an anomaly feature). Unknown when omitted. */
  occurredAt?: Date;
}

export type ClassificationMethod = 'RULES' | 'MODEL';

export interface Classification {
  category: ThreatCategory;
  /** 0–1 confidence in `category` (rule confidence, or the forest's vote share). */
  confidence: number;
  /** 0–1 isolation-forest score, `null` when no anomaly model is loaded. */
  anomalyScore: number | null;
  isAnomaly: boolean;
  method: ClassificationMethod;
  /** Version of the supervised model that produced `category`, `null` for rules. */
  modelVersion: string | null;
}

export interface Classifier {
  classify(event: ClassifierInput): Classification;
}

/** A category decision without the anomaly part; what rules and the supervised model each produce. */
export interface CategoryVerdict {
  category: ThreatCategory;
  confidence: number;
}

export interface LabelledEvent {
  input: ClassifierInput;
  label: ThreatCategory;
}
