/**
 * What the API offers about CrowdSec: stored decisions and alerts, live events, a
 * manual sync, bans and unbans through the LAPI, and health. Works without a LAPI
 * configured (stored data stays readable); the mutations then explain what to set.
 */
import type { GeoService } from '../geo/geo-service.js';
import { checkCountryCode, checkText } from '../platform/argument-checks.js';
import { AppError, badInput, notFound, upstreamUnavailable } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { Cursor } from '../platform/page.js';
import { OrderedFeed, subscribeResumable, type StreamStore } from '../platform/resumable-stream.js';
import type { AlertRepository } from './alert-repository.js';
import { validateBan, type BanInput } from './ban-input.js';
import { locateColumns } from './crowdsec-geo.js';
import { alertStream, decisionStream } from './crowdsec-streams.js';
import type { CrowdsecHealthReport, CrowdsecSync, SyncResult } from './crowdsec-sync.js';
import {
  matchesDecision,
  TOPICS,
  type AlertFilter,
  type AlertPage,
  type AlertRecord,
  type DecisionFilter,
  type DecisionPage,
  type DecisionRecord,
} from './crowdsec-types.js';
import type { DecisionRepository } from './decision-repository.js';
import { tryParseGoDuration } from './go-duration.js';
import type { LapiClient } from './lapi-client.js';
import { LapiError, manualBanAlert } from './lapi-types.js';

export interface CrowdsecLapi {
  url: string;
  client: LapiClient;
  machineConfigured: boolean;
  sync: CrowdsecSync;
}

const NOT_CONFIGURED =
  'CrowdSec is not configured: set CROWDSEC_LAPI_URL (and a bouncer key and machine credentials)';
const NO_MACHINE =
  'CrowdSec machine credentials are not configured: set CROWDSEC_MACHINE_ID and CROWDSEC_MACHINE_PASSWORD (cscli machines add)';

/** Default of WS_RESUME_WINDOW_SECONDS. */
const RESUME_WINDOW_MS = 3_600_000;

interface Stream<T> {
  store: StreamStore<T>;
  feed: OrderedFeed<T>;
}

export class CrowdsecService {
  private readonly added: Stream<DecisionRecord>;
  private readonly deleted: Stream<DecisionRecord>;
  private readonly created: Stream<AlertRecord>;

  constructor(
    private readonly deps: {
      decisions: DecisionRepository;
      alerts: AlertRepository;
      geo: GeoService;
      bus: EventBus;
      logger: Logger;
      lapi?: CrowdsecLapi;
      /** How far back an `after` cursor may reach, in milliseconds. */
      resumeWindowMs?: number;
    },
  ) {
    const stream = <T>(store: StreamStore<T>): Stream<T> => ({
      store,
      feed: new OrderedFeed(deps.bus, store, deps.logger),
    });
    this.added = stream(decisionStream(deps.decisions, 'added'));
    this.deleted = stream(decisionStream(deps.decisions, 'deleted'));
    this.created = stream(alertStream(deps.alerts));
  }

  listDecisions(filter: DecisionFilter, first: number, after: Cursor | undefined): Promise<DecisionPage> {
    return this.deps.decisions.list(checkDecisionFilter(filter), first, after);
  }

  listAlerts(filter: AlertFilter, first: number, after: Cursor | undefined): Promise<AlertPage> {
    return this.deps.alerts.list(checkAlertFilter(filter), first, after);
  }

  alert(id: string): Promise<AlertRecord | undefined> {
    return this.deps.alerts.get(id);
  }

  /** The decisions each alert carried (by crowdsec id, from its own LAPI), one query for all, in input order. */
  decisionsOfAlerts(alerts: readonly AlertRecord[]): Promise<DecisionRecord[][]> {
    return this.deps.decisions.byAlertKeys(alerts.map((a) => ({ lapiUrl: a.lapiUrl, ids: a.decisionIds })));
  }

  /** Active decisions on each value, newest first, at most `limit` each; one query, input order. */
  activeDecisionsOn(values: readonly string[], limit: number): Promise<DecisionRecord[][]> {
    return this.deps.decisions.activeByValues(values, limit);
  }

  /**
   * Decisions as they are stored or deleted, from every instance, in stream-position
   * order; with `after` (a cursor of that stream), first the stored ones after it.
   */
  subscribeDecisions(
    kind: 'added' | 'deleted',
    filter: DecisionFilter | null | undefined,
    after?: string | null,
  ): Promise<AsyncIterableIterator<DecisionRecord>> {
    const checked = filter ? checkDecisionFilter(filter) : filter;
    const { feed, store } = kind === 'added' ? this.added : this.deleted;
    return subscribeResumable(feed, store, (d) => matchesDecision(d, checked), after, this.resume());
  }

  /** Alerts as they are stored; with `after`, first the stored ones after it. */
  subscribeAlerts(after?: string | null): Promise<AsyncIterableIterator<AlertRecord>> {
    const { feed, store } = this.created;
    return subscribeResumable(feed, store, () => true, after, this.resume());
  }

  private resume() {
    return { windowMs: this.deps.resumeWindowMs ?? RESUME_WINDOW_MS };
  }

  syncNow(): Promise<SyncResult> {
    return this.lapi().sync.syncNow();
  }

  /** Posts an alert carrying one decision, as `cscli decisions add` does, and stores the decision. */
  async banIp(input: BanInput): Promise<DecisionRecord> {
    const ban = validateBan(input);
    const lapi = this.machine();
    const alertId = await call(() => lapi.client.postAlerts([manualBanAlert(ban)])).then((ids) => ids[0]);
    const alert = alertId === undefined ? undefined : await call(() => lapi.client.alert(alertId));
    const decision = alert?.decisions[0];
    if (!decision)
      throw upstreamUnavailable('CrowdSec LAPI accepted the ban but did not return its decision');
    const receivedAt = Date.now();
    const [inserted] = await this.deps.decisions.upsertBatch(lapi.url, [
      {
        crowdsecId: decision.id,
        origin: decision.origin,
        type: decision.type,
        scope: decision.scope,
        value: decision.value,
        scenario: decision.scenario,
        simulated: decision.simulated ?? false,
        expiresAt: new Date(receivedAt + (tryParseGoDuration(decision.duration) ?? 0)),
        geo: locateColumns(this.deps.geo, decision.scope, decision.value),
      },
    ]);
    // The stream will report it too; whoever stores it first publishes it, once.
    if (inserted) await this.deps.bus.publish(TOPICS.decisionAdded, inserted);
    const [stored] = await this.deps.decisions.byCrowdsecIds(lapi.url, [decision.id]);
    if (!stored) throw new AppError('INTERNAL_SERVER_ERROR', 'the new decision was not stored');
    return stored;
  }

  /** Deletes the decision on its LAPI; true when something was deleted. */
  async deleteDecision(id: string): Promise<boolean> {
    const lapi = this.machine();
    const decision = await this.deps.decisions.get(id);
    if (!decision) throw notFound(`no decision with id ${id}`);
    if (decision.lapiUrl !== lapi.url) {
      throw badInput(`decision ${id} comes from ${decision.lapiUrl}, not from the configured LAPI`);
    }
    const removed = await call(() => lapi.client.deleteDecision(decision.crowdsecId));
    const gone = await this.deps.decisions.markDeleted(lapi.url, [decision.crowdsecId]);
    await Promise.all(gone.map((d) => this.deps.bus.publish(TOPICS.decisionDeleted, d)));
    return removed > 0 || gone.length > 0;
  }

  async health(): Promise<CrowdsecHealthReport> {
    if (!this.deps.lapi) {
      const off = {
        enabled: false,
        ...{ lastSuccessAt: null, lastErrorAt: null, lastError: null, consecutiveFailures: 0 },
      };
      return {
        configured: false,
        lapiUrl: null,
        status: 'DISABLED',
        decisions: off,
        alerts: off,
        lagSeconds: null,
        lastError: null,
      };
    }
    return this.deps.lapi.sync.health();
  }

  private lapi(): CrowdsecLapi {
    if (!this.deps.lapi) throw upstreamUnavailable(NOT_CONFIGURED);
    return this.deps.lapi;
  }

  private machine(): CrowdsecLapi {
    const lapi = this.lapi();
    if (!lapi.machineConfigured) throw upstreamUnavailable(NO_MACHINE);
    return lapi;
  }
}

/**
 * Filter text reaches SQL: every string must be storable and at most MAX_FILTER_TEXT
 * long, and a country code two letters. Time ranges need no bound (an index range
 * scan under LIMIT); an inverted one is refused.
 */
function checkDecisionFilter(f: DecisionFilter): DecisionFilter {
  return {
    activeOnly: f.activeOnly,
    scope: checkText('filter.scope', f.scope),
    type: checkText('filter.type', f.type),
    origin: checkText('filter.origin', f.origin),
    scenario: checkText('filter.scenario', f.scenario),
    value: checkText('filter.value', f.value),
    countryCode: checkCountryCode('filter.countryCode', f.countryCode),
  };
}

function checkAlertFilter(f: AlertFilter): AlertFilter {
  if (f.since && f.until && f.since > f.until)
    throw badInput('filter.since must not be after filter.until', { argument: 'filter.since' });
  return {
    ip: checkText('filter.ip', f.ip),
    scenario: checkText('filter.scenario', f.scenario),
    since: f.since,
    until: f.until,
    countryCode: checkCountryCode('filter.countryCode', f.countryCode),
    hasActiveDecision: f.hasActiveDecision,
  };
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof LapiError ? err.toAppError() : err;
  }
}
