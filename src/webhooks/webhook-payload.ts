/**
 * The bodies of a delivery. threatwire JSON carries every event whole; the Slack format
 * is an incoming-webhook message `{ "text": … }` with one line per event. A body is
 * built from the stored outbox rows alone, so every attempt of a delivery sends the
 * same bytes.
 */
import type { OutboxRow, WebhookEvent, WebhookFormat } from './webhook-types.js';

/** Slack truncates long messages; past this many lines the rest is summarised. */
const SLACK_MAX_LINES = 50;

export function deliveryBody(
  format: WebhookFormat,
  deliveryId: string,
  webhookId: string,
  rows: readonly OutboxRow[],
) {
  switch (format) {
    case 'THREATWIRE':
      return JSON.stringify({
        deliveryId,
        webhookId,
        events: rows.map((r) => ({ id: r.eventId, type: r.event, createdAt: r.createdAt, data: r.payload })),
      });
    case 'SLACK':
      return JSON.stringify({ text: slackText(rows) });
  }
}

/** The body of `testWebhook`: no events, marked as a test. */
export function testBody(format: WebhookFormat, deliveryId: string, webhookId: string): string {
  return format === 'SLACK'
    ? JSON.stringify({ text: 'threatwire: test message from webhook ' + webhookId })
    : JSON.stringify({ deliveryId, webhookId, test: true, events: [] });
}

function slackText(rows: readonly OutboxRow[]): string {
  const lines = rows.slice(0, SLACK_MAX_LINES).map((r) => `• ${slackLine(r.event, r.payload)}`);
  if (rows.length > SLACK_MAX_LINES) lines.push(`… and ${rows.length - SLACK_MAX_LINES} more events`);
  return `*threatwire*: ${rows.length} event${rows.length === 1 ? '' : 's'}\n${lines.join('\n')}`;
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');

function slackLine(event: WebhookEvent, p: Record<string, unknown>): string {
  const where = p.countryCode ? ` (${str(p.countryCode)})` : '';
  switch (event) {
    case 'THREAT_DETECTED':
      return `Threat ${str(p.category)} severity ${str(p.severity)} from ${str(p.sourceIp)}${where}: ${str(p.threatType)}`;
    case 'DECISION_ADDED':
      return `CrowdSec decision ${str(p.type)} on ${str(p.scope)} ${str(p.value)}${where} (${str(p.scenario)})`;
    case 'DECISION_DELETED':
      return `CrowdSec decision removed: ${str(p.type)} on ${str(p.scope)} ${str(p.value)}`;
    case 'ALERT_CREATED':
      return `CrowdSec alert ${str(p.scenario)} from ${str(p.sourceValue)}${where}: ${str(p.message)}`;
    case 'IOC_ENRICHED':
      return `IOC ${str(p.value)} (${str(p.type)}) enriched: risk ${str(p.riskLevel)} (${str(p.riskScore)})`;
  }
}
