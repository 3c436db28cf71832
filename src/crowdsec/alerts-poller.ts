/**
 * The watcher-API alert poller. LAPI 1.4 filters `since` on an alert's *start_at*, so
 * an alert whose bucket started long ago but was posted just now would slip past a
 * `since` window. Instead this reads the newest alerts by creation order (the LAPI
 * sorts by created_at, id descending) with a `limit` that grows until the page
 * reaches an alert we already stored, and re-stores that overlap every time: inserts
 * de-duplicate by LAPI id, and an alert that committed late (a lower id appearing
 * after a higher one) is still inside the re-checked window.
 */
import type { GeoService } from '../geo/geo-service.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { AlertInput, AlertRepository } from './alert-repository.js';
import { alertGeoColumns } from './crowdsec-geo.js';
import { TOPICS } from './crowdsec-types.js';
import type { LockGeneration } from './decisions-poller.js';
import type { LapiClient } from './lapi-client.js';
import { parseLapiTime, type Alert } from './lapi-types.js';

/** Newest alerts re-read on every poll: far more than arrive in one interval. */
const PAGE = 100;
/** Above this the page is fetched without a limit. */
const MAX_PAGE = 25_600;
const BATCH = 500;

export interface AlertsPollerOptions {
  lapiUrl: string;
  client: LapiClient;
  repo: AlertRepository;
  geo: GeoService;
  bus: EventBus;
  logger: Logger;
  lock?: LockGeneration;
  /** How far back the very first poll reads (Go duration on start_at). */
  backfill?: string;
}

export class AlertsPoller {
  private knownMaxId: number | undefined;
  private seenGeneration = -1;

  constructor(private readonly deps: AlertsPollerOptions) {}

  /** Returns how many alerts were new. */
  async poll(): Promise<number> {
    const generation = this.deps.lock?.generation ?? 0;
    if (generation !== this.seenGeneration || this.knownMaxId === undefined) {
      // Another instance may have stored alerts meanwhile: trust the database.
      this.knownMaxId = await this.deps.repo.maxCrowdsecId(this.deps.lapiUrl);
      this.seenGeneration = generation;
    }
    const alerts = await this.fetchNew(this.knownMaxId);
    let added = 0;
    for (let i = 0; i < alerts.length; i += BATCH) {
      const batch = alerts.slice(i, i + BATCH).map((a) => this.toInput(a));
      const inserted = await this.deps.repo.upsertBatch(this.deps.lapiUrl, batch);
      added += inserted.length;
      if (inserted.length > 0) {
        await Promise.all(inserted.map((a) => this.deps.bus.publish(TOPICS.alertCreated, a)));
      }
    }
    for (const a of alerts) this.knownMaxId = Math.max(this.knownMaxId ?? 0, a.id);
    if (added) this.deps.logger.debug({ added }, 'alerts synchronised');
    return added;
  }

  private async fetchNew(known: number | undefined): Promise<Alert[]> {
    const { client } = this.deps;
    if (known === undefined) return client.alerts({ since: this.deps.backfill ?? '168h', limit: 0 });
    for (let limit = PAGE; ; limit *= 4) {
      const page = await client.alerts({ limit: limit > MAX_PAGE ? 0 : limit });
      const reachedKnown = page.some((a) => a.id <= known);
      if (reachedKnown || page.length < limit || limit > MAX_PAGE) return page;
    }
  }

  private toInput(a: Alert): AlertInput {
    const createdAt = parseLapiTime(a.created_at) ?? new Date();
    const startAt = parseLapiTime(a.start_at) ?? createdAt;
    return {
      crowdsecId: a.id,
      scenario: a.scenario,
      scenarioVersion: a.scenario_version || null,
      message: a.message,
      eventsCount: a.events_count,
      startAt,
      stopAt: parseLapiTime(a.stop_at) ?? startAt,
      createdAt,
      machineId: a.machine_id || null,
      simulated: a.simulated,
      sourceScope: a.source.scope,
      sourceValue: a.source.value,
      sourceIp: a.source.ip || null,
      sourceRange: a.source.range || null,
      geo: alertGeoColumns(this.deps.geo, a),
      decisionIds: a.decisions.map((d) => d.id),
    };
  }
}
