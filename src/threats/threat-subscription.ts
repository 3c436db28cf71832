import type { StreamStore } from '../platform/resumable-stream.js';
import type { ThreatEventRepository } from './threat-event-repository.js';
import { THREATS_TOPIC, type ThreatEventRecord } from './threat-types.js';

/**
 * The threatDetected stream as the ordered feed and resuming subscriptions read it
 * (src/platform/resumable-stream.ts). Ingestion publishes one message per call (an
 * array of events) so that a bulk ingest costs one Redis publish, not thousands; the
 * feed unpacks them. Positions are `threat_events.stream_position`, taken by the
 * INSERT's trigger; the window is measured on `ingested_at`.
 */
export function threatStream(
  events: Pick<ThreatEventRepository, 'readAfterPosition' | 'headPosition' | 'firstIngestedAfter'>,
): StreamStore<ThreatEventRecord> {
  return {
    stream: 'threatDetected',
    topic: THREATS_TOPIC,
    unpack: (message) => message as ThreatEventRecord[],
    // A message from an instance that predates stream positions carries none: 0 (dropped).
    position: (event) => BigInt(event.streamPosition ?? 0),
    readAfter: (after, limit) => events.readAfterPosition(after, limit),
    head: () => events.headPosition(),
    firstWrittenAfter: (after) => events.firstIngestedAfter(after),
  };
}
