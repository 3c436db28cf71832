import type { GeoLocation } from '../geo/geo-types.js';
import type { Classifier } from './classifier/index.js';
import type { ThreatEventRecord } from './threat-types.js';
import type { ValidEvent } from './threat-validation.js';
import { uuid7 } from './uuid7.js';

/**
 * Enriches one validated event (GeoIP of the source, classification) into the row to
 * store; knownIoc/banned are set by the INSERT itself (threat-event-repository.ts).
 */
export function buildRecord(
  event: ValidEvent,
  ingestedAt: Date,
  geo: { locate(ip: string): GeoLocation | null },
  classifier: Classifier,
): ThreatEventRecord {
  const isPublic = event.sourceRange === 'PUBLIC';
  const location = isPublic ? geo.locate(event.geoKey) : null;
  const c = classifier.classify({
    threatType: event.threatType,
    description: event.description,
    protocol: event.protocol,
    sourcePort: event.sourcePort,
    destinationPort: event.destinationPort,
    severity: event.severity,
    confidence: event.confidence,
    tags: event.tags,
    sourceIsPrivate: !isPublic,
    occurredAt: event.occurredAt,
  });
  return {
    id: uuid7(ingestedAt.getTime()),
    externalId: event.externalId,
    sourceIp: event.sourceIp,
    destinationIp: event.destinationIp,
    sourcePort: event.sourcePort,
    destinationPort: event.destinationPort,
    protocol: event.protocol,
    threatType: event.threatType,
    severity: event.severity,
    confidence: event.confidence,
    description: event.description,
    sensor: event.sensor,
    tags: event.tags,
    occurredAt: event.occurredAt,
    ingestedAt,
    countryCode: location?.countryCode ?? null,
    city: location?.city ?? null,
    latitude: location?.latitude ?? null,
    longitude: location?.longitude ?? null,
    geoApproximate: location?.approximate ?? false,
    asn: location?.asn ?? null,
    asOrg: location?.asOrg ?? null,
    knownIoc: false,
    banned: false,
    category: c.category,
    categoryConfidence: c.confidence,
    anomalyScore: c.anomalyScore,
    isAnomaly: c.isAnomaly,
    classificationMethod: c.method,
    modelVersion: c.modelVersion,
    label: null,
    raw: event.raw,
    streamPosition: '0', // set by the INSERT
  };
}
