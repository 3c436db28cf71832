import { parseIp, type IpRange } from '../geo/ip-address.js';
import { unstorableJson, unstorableText } from '../platform/storable-text.js';
import type { IngestError, ThreatEventInputData, ThreatEventRecord } from './threat-types.js';

/**
 * Per-item validation of ingested events. Every limit is documented on
 * `ThreatEventInput` in schema.graphql. Whatever PostgreSQL would refuse or alter (NUL
 * characters, unpaired UTF-16 surrogates, JSON nested too deep for its parser) is
 * refused here, per item: reaching the INSERT it would fail every event written with it.
 */
export const LIMITS = {
  externalId: 200,
  threatType: 200,
  protocol: 32,
  sensor: 200,
  description: 4000,
  tags: 32,
  tag: 64,
  rawBytes: 16 * 1024,
  /** Deepest nesting of objects/arrays in raw (the top-level value is level 1). */
  rawDepth: 32,
  /** Clock skew tolerated between a sensor and us. */
  maxFutureMs: 5 * 60_000,
} as const;

/** Oldest accepted occurredAt: anything earlier is a unit or parsing bug at the sender. */
export const EARLIEST_OCCURRED_AT = Date.UTC(2000, 0, 1);

/** A validated event, normalised (canonical IPs, trimmed strings, defaults applied). */
/** An event's fields as stored, checked and normalised, before GeoIP and classification. */
export interface ValidEvent extends Pick<
  ThreatEventRecord,
  | 'externalId'
  | 'sourceIp'
  | 'destinationIp'
  | 'sourcePort'
  | 'destinationPort'
  | 'protocol'
  | 'threatType'
  | 'severity'
  | 'confidence'
  | 'description'
  | 'sensor'
  | 'tags'
  | 'occurredAt'
> {
  /** What GeoIP is keyed on: the IPv4 inside an IPv4-mapped address, else sourceIp. */
  geoKey: string;
  sourceRange: IpRange;
  /** The raw payload as given (checked to be storable as jsonb), or null. */
  raw: unknown;
}

class Invalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type ValidationResult =
  { ok: true; event: ValidEvent } | { ok: false; error: Omit<IngestError, 'index'> };

export function validateEvent(input: ThreatEventInputData, now: number): ValidationResult {
  try {
    return { ok: true, event: validate(input, now) };
  } catch (err) {
    if (err instanceof Invalid)
      return { ok: false, error: { field: err.field, message: `${err.field}: ${err.message}` } };
    throw err;
  }
}

function validate(input: ThreatEventInputData, now: number): ValidEvent {
  const source = parseIp(text('sourceIp', input.sourceIp, 64) ?? '');
  if (!source.ok) throw new Invalid('sourceIp', source.error);
  const destinationText = text('destinationIp', input.destinationIp, 64);
  let destinationIp: string | null = null;
  if (destinationText !== null) {
    const destination = parseIp(destinationText);
    if (!destination.ok) throw new Invalid('destinationIp', destination.error);
    destinationIp = destination.ip;
  }
  const threatType = text('threatType', input.threatType, LIMITS.threatType);
  if (threatType === null) throw new Invalid('threatType', 'must not be empty');
  return {
    externalId: text('externalId', input.externalId, LIMITS.externalId),
    sourceIp: source.ip,
    geoKey: source.embeddedIpv4 ?? source.ip,
    sourceRange: source.range,
    destinationIp,
    sourcePort: port('sourcePort', input.sourcePort),
    destinationPort: port('destinationPort', input.destinationPort),
    protocol: text('protocol', input.protocol, LIMITS.protocol)?.toLowerCase() ?? null,
    threatType,
    severity: severity(input.severity),
    confidence: confidence(input.confidence),
    description: text('description', input.description, LIMITS.description),
    sensor: text('sensor', input.sensor, LIMITS.sensor),
    tags: tags(input.tags),
    occurredAt: occurredAt(input.occurredAt, now),
    raw: raw(input.raw),
  };
}

/** Trimmed text within `max` characters; empty or absent → null. */
function text(field: string, value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new Invalid(field, 'must be a string');
  const unstorable = unstorableText(value);
  if (unstorable) throw new Invalid(field, unstorable);
  const trimmed = value.trim();
  if (trimmed.length > max)
    throw new Invalid(field, `must be at most ${max} characters (got ${trimmed.length})`);
  return trimmed === '' ? null : trimmed;
}

function port(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Invalid(field, `must be an integer between 0 and 65535 (got ${value})`);
  }
  return value;
}

function severity(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 10) {
    throw new Invalid('severity', `must be an integer between 1 and 10 (got ${value})`);
  }
  return value;
}

function confidence(value: number | null | undefined): number {
  if (value === null || value === undefined) return 1;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new Invalid('confidence', `must be between 0 and 1 (got ${value})`);
  }
  return value;
}

function tags(value: readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  if (value.length > LIMITS.tags)
    throw new Invalid('tags', `at most ${LIMITS.tags} tags (got ${value.length})`);
  const out: string[] = [];
  for (const tag of value) {
    const t = text('tags', tag, LIMITS.tag);
    if (t !== null && !out.includes(t)) out.push(t);
  }
  return out;
}

function occurredAt(value: Date | string | null | undefined, now: number): Date {
  if (value === null || value === undefined) return new Date(now);
  const date = value instanceof Date ? value : new Date(value);
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new Invalid('occurredAt', 'is not a valid date-time');
  if (ms > now + LIMITS.maxFutureMs) {
    throw new Invalid('occurredAt', `is more than ${LIMITS.maxFutureMs / 60_000} minutes in the future`);
  }
  if (ms < EARLIEST_OCCURRED_AT) throw new Invalid('occurredAt', 'is before 2000-01-01');
  return date;
}

function raw(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  // Before serialising: the check is iterative, JSON.stringify would overflow the stack on
  // a value nested a few thousand deep (which fits in a few KiB).
  const unstorable = unstorableJson(value, { maxDepth: LIMITS.rawDepth });
  if (unstorable) throw new Invalid('raw', unstorable);
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) > LIMITS.rawBytes)
    throw new Invalid('raw', `must be at most ${LIMITS.rawBytes} bytes as JSON`);
  return value;
}
