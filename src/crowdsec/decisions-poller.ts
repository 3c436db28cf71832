/**
 * The bouncer-stream poller: a full snapshot (`startup=true`) first and after any
 * failure, deltas otherwise. A delta is never repeated (the LAPI has already moved
 * this key's position), so a failed delta — or a failed write of one — switches the
 * next run to a snapshot, which is reconciled: what the snapshot no longer lists is
 * marked deleted. Events are published after the batch that carries them committed.
 */
import type { GeoService } from '../geo/geo-service.js';
import type { EventBus, Topic } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import { locateColumns } from './crowdsec-geo.js';
import { TOPICS, type DecisionRecord } from './crowdsec-types.js';
import type { DecisionInput, DecisionRepository } from './decision-repository.js';
import { tryParseGoDuration } from './go-duration.js';
import type { LapiClient } from './lapi-client.js';
import type { Decision } from './lapi-types.js';

const BATCH = 1000;

export interface DecisionSyncCounts {
  snapshot: boolean;
  added: number;
  deleted: number;
}

/** Anything that must resynchronise when another instance may have polled meanwhile. */
export interface LockGeneration {
  readonly generation: number;
}

export class DecisionsPoller {
  private needsSnapshot = true;
  private seenGeneration = -1;

  constructor(
    private readonly deps: {
      lapiUrl: string;
      client: LapiClient;
      repo: DecisionRepository;
      geo: GeoService;
      bus: EventBus;
      logger: Logger;
      lock?: LockGeneration;
    },
  ) {}

  async poll(): Promise<DecisionSyncCounts> {
    const generation = this.deps.lock?.generation ?? 0;
    if (generation !== this.seenGeneration) {
      this.needsSnapshot = true;
      this.seenGeneration = generation;
    }
    const snapshot = this.needsSnapshot;
    this.needsSnapshot = true; // until this run has fully committed
    const counts = snapshot ? await this.snapshot() : await this.delta();
    this.needsSnapshot = false;
    if (counts.added || counts.deleted) this.deps.logger.debug(counts, 'decisions synchronised');
    return counts;
  }

  private async delta(): Promise<DecisionSyncCounts> {
    const res = await this.deps.client.decisionsStream({ startup: false });
    const receivedAt = Date.now();
    const added = await this.store(res.new, receivedAt);
    const deleted = await this.remove(res.deleted);
    return { snapshot: false, added, deleted };
  }

  /**
   * Streamed: the body is read at most one batch ahead of the writes, so a
   * 100,000-decision snapshot never sits in memory. Batches are applied in body order;
   * a snapshot lists each decision under one of the two lists only, so order is moot.
   */
  private async snapshot(): Promise<DecisionSyncCounts> {
    const { repo, lapiUrl } = this.deps;
    const startedAt = await repo.now();
    let added = 0;
    let deleted = 0;
    let receivedAt: number | undefined; // durations count from the answer, not from each batch
    const batches = this.deps.client.decisionsSnapshot({}, BATCH);
    // One batch ahead: the next one is read and parsed (CPU here) while this one is
    // written (CPU in PostgreSQL). At most two batches are held.
    const ahead = () => {
      const p = batches.next();
      p.catch(() => undefined); // awaited below; failing meanwhile is not "unhandled"
      return p;
    };
    let next = ahead();
    try {
      for (let r = await next; !r.done; r = await next) {
        next = ahead();
        receivedAt ??= Date.now();
        if (r.value.list === 'new') added += await this.store(r.value.decisions, receivedAt);
        else deleted += await this.remove(r.value.decisions);
      }
    } catch (err) {
      await batches.return({ new: 0, deleted: 0 }).catch(() => undefined); // closes the connection
      throw err;
    }
    // Only after the whole body arrived: a cut-off snapshot must not delete anything.
    deleted += await repo.reconcile(lapiUrl, startedAt, (gone) => this.publish(TOPICS.decisionDeleted, gone));
    return { snapshot: true, added, deleted };
  }

  private async store(decisions: Decision[], receivedAt: number): Promise<number> {
    let added = 0;
    for (let i = 0; i < decisions.length; i += BATCH) {
      const unique = new Map<number, DecisionInput>();
      for (const d of decisions.slice(i, i + BATCH)) unique.set(d.id, this.toInput(d, receivedAt));
      const inserted = await this.deps.repo.upsertBatch(this.deps.lapiUrl, [...unique.values()]);
      added += inserted.length;
      await this.publish(TOPICS.decisionAdded, inserted);
    }
    return added;
  }

  private async remove(decisions: Decision[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < decisions.length; i += BATCH) {
      const ids = [...new Set(decisions.slice(i, i + BATCH).map((d) => d.id))];
      const gone = await this.deps.repo.markDeleted(this.deps.lapiUrl, ids);
      removed += gone.length;
      await this.publish(TOPICS.decisionDeleted, gone);
    }
    return removed;
  }

  private toInput(d: Decision, receivedAt: number): DecisionInput {
    // `duration` is what remains at the LAPI's answer: the expiry is relative to receipt.
    const remaining = tryParseGoDuration(d.duration) ?? 0;
    return {
      crowdsecId: d.id,
      origin: d.origin,
      type: d.type,
      scope: d.scope,
      value: d.value,
      scenario: d.scenario,
      simulated: d.simulated ?? false,
      expiresAt: new Date(receivedAt + remaining),
      geo: locateColumns(this.deps.geo, d.scope, d.value),
    };
  }

  private async publish(topic: Topic<DecisionRecord>, rows: DecisionRecord[]): Promise<void> {
    await Promise.all(rows.map((r) => this.deps.bus.publish(topic, r)));
  }
}
