import type { OutboxEvent } from '../platform/outbox.js';
import type { Page } from '../platform/page.js';
import { topic } from '../platform/event-bus.js';

export type WebhookEvent = OutboxEvent;
export type WebhookFormat = 'THREATWIRE' | 'SLACK';
export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = [
  'THREAT_DETECTED',
  'DECISION_ADDED',
  'DECISION_DELETED',
  'ALERT_CREATED',
  'IOC_ENRICHED',
];

/** What a webhook's events must match; an empty list or null means "any". */
export interface WebhookFilterRecord {
  minSeverity: number | null;
  categories: string[];
  countries: string[];
  scenarios: string[];
  minRiskLevel: RiskLevel | null;
}

/** A webhook as services and resolvers see it: never with its secret. */
export interface WebhookRecord {
  id: string;
  url: string;
  events: WebhookEvent[];
  filter: WebhookFilterRecord;
  format: WebhookFormat;
  description: string | null;
  pausedAt: Date | null;
  pausedReason: string | null;
  failedDeliveries: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookInput {
  url: string;
  secret: string;
  events: WebhookEvent[];
  filter: WebhookFilterRecord;
  format: WebhookFormat;
  description: string | null;
}

export interface DeliveryAttemptRecord {
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  status: DeliveryStatus;
  eventCount: number;
  attempts: number;
  createdAt: Date;
  firstAttemptAt: Date | null;
  nextAttemptAt: Date;
  completedAt: Date | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  attemptHistory: DeliveryAttemptRecord[];
}

export type DeliveryPage = Page<DeliveryRecord>;

/** One event of a delivery, as stored in the outbox. */
export interface OutboxRow {
  eventId: string;
  event: WebhookEvent;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Published after any change of the webhooks, so every instance reloads its cache. */
export const WEBHOOKS_CHANGED = topic<{ at: number }>('webhooks.changed');
