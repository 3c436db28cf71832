/** What the webhook tests share: the env of a test app, GraphQL helpers, threat inputs. */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from '../helpers/test-app.js';

/** Loopback receivers are allowed; batches and retries are quick. */
export const WEBHOOK_ENV: Record<string, string> = {
  WEBHOOK_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8',
  WEBHOOK_POLL_INTERVAL_MS: '20',
  WEBHOOK_BATCH_WINDOW_MS: '50',
  WEBHOOK_BACKOFF_BASE_MS: '50',
  WEBHOOK_BACKOFF_MAX_MS: '200',
};

export const WEBHOOK_FIELDS = `id url events format description paused pausedAt pausedReason failedDeliveries
  filter { minSeverity categories countries scenarios minRiskLevel } createdAt updatedAt`;

export interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  format: string;
  paused: boolean;
  pausedReason: string | null;
  failedDeliveries: number;
  filter: Record<string, unknown>;
}

export const newSecret = () => 'whsec_' + randomBytes(18).toString('base64url');

export async function createWebhook(
  t: TestApp,
  vars: { url: string; secret: string; events: string[]; filter?: unknown; format?: string },
): Promise<WebhookJson> {
  const res = await t.gql<{ createWebhook: WebhookJson }>(
    `mutation($url: String!, $secret: String!, $events: [WebhookEvent!]!, $filter: WebhookFilter, $format: WebhookFormat) {
      createWebhook(url: $url, secret: $secret, events: $events, filter: $filter, format: $format) { ${WEBHOOK_FIELDS} }
    }`,
    { format: 'THREATWIRE', ...vars },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createWebhook;
}

export async function deleteWebhook(t: TestApp, id: string): Promise<void> {
  const res = await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id });
  expect(res.errors).toBeUndefined();
}

export interface ThreatInput {
  externalId: string;
  sourceIp: string;
  threatType: string;
  severity: number;
}

/** `n` threat inputs with external ids `<prefix>-0 … <prefix>-(n-1)`. */
export function threats(prefix: string, n: number, severity = 5): ThreatInput[] {
  return Array.from({ length: n }, (_, i) => ({
    externalId: `${prefix}-${i}`,
    sourceIp: `198.51.100.${(i % 250) + 1}`,
    threatType: 'ssh-bruteforce',
    severity,
  }));
}

export async function ingest(t: TestApp, inputs: readonly ThreatInput[]): Promise<void> {
  const res = await t.gql<{ ingestThreatEvents: { accepted: number } }>(
    `mutation($inputs: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $inputs) { accepted } }`,
    { inputs },
  );
  expect(res.errors).toBeUndefined();
  expect(res.data!.ingestThreatEvents.accepted).toBe(inputs.length);
}

export interface DeliveryJson {
  id: string;
  status: string;
  eventCount: number;
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastError: string | null;
  attemptHistory: { statusCode: number | null; latencyMs: number; error: string | null }[];
}

export async function deliveries(t: TestApp, webhookId: string, first = 500): Promise<DeliveryJson[]> {
  const res = await t.gql<{ webhookDeliveries: { edges: { node: DeliveryJson }[] } }>(
    `query($id: ID!, $first: Int) { webhookDeliveries(webhookId: $id, first: $first) {
      edges { node { id status eventCount attempts lastStatusCode lastLatencyMs lastError
        attemptHistory { statusCode latencyMs error } } } } }`,
    { id: webhookId, first },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.webhookDeliveries.edges.map((e) => e.node);
}
