/**
 * Domain types of the CrowdSec part of threatwire. GraphQL codegen maps `Decision`
 * and `Alert` to the records below (codegen.ts). Their topics (TOPICS) restore the
 * dates after a trip over the event bus.
 */
import type { GeoLocation } from '../geo/geo-types.js';
import { topic, withDates } from '../platform/event-bus.js';
import type { Page } from '../platform/page.js';

export interface DecisionRecord {
  /** Our id (a bigint as text). */
  id: string;
  lapiUrl: string;
  crowdsecId: number;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  expiresAt: Date;
  createdAt: Date;
  deletedAt: Date | null;
  geo: GeoLocation | null;
  /**
   * Positions in the decisionAdded and decisionDeleted streams (bigints as decimal text,
   * commit-ordered, set by the database; deletedPosition null while it stands).
   */
  addedPosition: string;
  deletedPosition: string | null;
}

export interface AlertRecord {
  id: string;
  lapiUrl: string;
  crowdsecId: number;
  scenario: string;
  scenarioVersion: string | null;
  message: string;
  eventsCount: number;
  startAt: Date;
  stopAt: Date;
  createdAt: Date;
  machineId: string | null;
  simulated: boolean;
  sourceScope: string;
  sourceValue: string;
  sourceIp: string | null;
  sourceRange: string | null;
  geo: GeoLocation | null;
  /** LAPI ids of the decisions the alert carried. */
  decisionIds: number[];
  /** Position in the alertCreated stream (a bigint as decimal text, set by the database). */
  streamPosition: string;
}

export interface DecisionFilter {
  activeOnly?: boolean | null;
  scope?: string | null;
  type?: string | null;
  origin?: string | null;
  scenario?: string | null;
  value?: string | null;
  countryCode?: string | null;
}

export interface AlertFilter {
  ip?: string | null;
  scenario?: string | null;
  since?: Date | null;
  until?: Date | null;
  countryCode?: string | null;
  hasActiveDecision?: boolean | null;
}

export type DecisionPage = Page<DecisionRecord>;
export type AlertPage = Page<AlertRecord>;

const decisionDates = withDates<DecisionRecord>('expiresAt', 'createdAt', 'deletedAt');

/** Event-bus topics; payloads are the records above. */
export const TOPICS = {
  decisionAdded: topic<DecisionRecord>('crowdsec.decisionAdded', decisionDates),
  decisionDeleted: topic<DecisionRecord>('crowdsec.decisionDeleted', decisionDates),
  alertCreated: topic<AlertRecord>(
    'crowdsec.alertCreated',
    withDates<AlertRecord>('startAt', 'stopAt', 'createdAt'),
  ),
} as const;

export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function isActive(d: Pick<DecisionRecord, 'deletedAt' | 'expiresAt'>, now = Date.now()): boolean {
  return d.deletedAt === null && toDate(d.expiresAt).getTime() > now;
}

/** Server-side filter for subscriptions; the same semantics as the `decisions` query. */
export function matchesDecision(d: DecisionRecord, f: DecisionFilter | null | undefined): boolean {
  if (!f) return true;
  const eq = (a: string, b: string | null | undefined) => b == null || a.toLowerCase() === b.toLowerCase();
  return (
    (!f.activeOnly || isActive(d)) &&
    eq(d.scope, f.scope) &&
    eq(d.type, f.type) &&
    eq(d.origin, f.origin) &&
    eq(d.scenario, f.scenario) &&
    (f.value == null || d.value === f.value) &&
    (f.countryCode == null || d.geo?.countryCode?.toUpperCase() === f.countryCode.toUpperCase())
  );
}
