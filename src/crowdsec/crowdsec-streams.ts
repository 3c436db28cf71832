import type { StreamStore } from '../platform/resumable-stream.js';
import type { AlertRepository } from './alert-repository.js';
import { TOPICS, type AlertRecord, type DecisionRecord } from './crowdsec-types.js';
import type { DecisionRepository } from './decision-repository.js';

/**
 * The decisionAdded / decisionDeleted / alertCreated streams as the ordered feed and
 * resuming subscriptions read them (src/platform/resumable-stream.ts). Each message of
 * their topics is one record; positions are the columns the tables' triggers set
 * (`added_position`, `deleted_position`, `stream_position`).
 */
export function decisionStream(
  decisions: Pick<DecisionRepository, 'readAfterPosition' | 'headPosition' | 'firstWrittenAfter'>,
  kind: 'added' | 'deleted',
): StreamStore<DecisionRecord> {
  return {
    stream: kind === 'added' ? 'decisionAdded' : 'decisionDeleted',
    topic: kind === 'added' ? TOPICS.decisionAdded : TOPICS.decisionDeleted,
    unpack: (message) => [message as DecisionRecord],
    // A message from an instance that predates stream positions carries none: 0 (dropped).
    position: (d) => BigInt((kind === 'added' ? d.addedPosition : d.deletedPosition) ?? 0),
    readAfter: (after, limit) => decisions.readAfterPosition(kind, after, limit),
    head: () => decisions.headPosition(kind),
    firstWrittenAfter: (after) => decisions.firstWrittenAfter(kind, after),
  };
}

export function alertStream(
  alerts: Pick<AlertRepository, 'readAfterPosition' | 'headPosition' | 'firstReceivedAfter'>,
): StreamStore<AlertRecord> {
  return {
    stream: 'alertCreated',
    topic: TOPICS.alertCreated,
    unpack: (message) => [message as AlertRecord],
    position: (a) => BigInt(a.streamPosition ?? 0),
    readAfter: (after, limit) => alerts.readAfterPosition(after, limit),
    head: () => alerts.headPosition(),
    firstWrittenAfter: (after) => alerts.firstReceivedAfter(after),
  };
}
