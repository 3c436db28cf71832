/**
 * The outbox side of the data writers (src/platform/outbox.ts): a data-modifying CTE that
 * inserts one row per stored event and matching active webhook, in the writer's own
 * statement, so the outbox rows commit or roll back with the data. Which events any
 * active webhook wants is cached (WebhookCache): while none does, the writers' statements
 * are the plain ones and no outbox row is written.
 */
import type { Outbox, OutboxEvent, OutboxSource } from '../platform/outbox.js';

export interface ActiveEvents {
  wants(event: OutboxEvent): boolean;
}

export class SqlOutbox implements Outbox {
  constructor(private readonly active: ActiveEvents) {}

  cte(event: OutboxEvent, s: OutboxSource): string {
    if (!this.active.wants(event)) return '';
    return outboxCte(event, s);
  }
}

/** Exported for the tests of the filters; `event` is one of the enum's literals. */
export function outboxCte(event: OutboxEvent, s: OutboxSource): string {
  const match = [
    `w.paused_at IS NULL`,
    `'${event}'::"WebhookEvent" = ANY(w.events)`,
    s.where ? `(${s.where})` : null,
    s.severity ? `(w.min_severity IS NULL OR ${s.severity} >= w.min_severity)` : null,
    s.category
      ? `(COALESCE(cardinality(w.categories), 0) = 0 OR ${s.category}::text = ANY(w.categories))`
      : null,
    s.country ? `(COALESCE(cardinality(w.countries), 0) = 0 OR ${s.country}::text = ANY(w.countries))` : null,
    s.scenario
      ? `(COALESCE(cardinality(w.scenarios), 0) = 0 OR ${s.scenario}::text = ANY(w.scenarios))`
      : null,
    s.riskLevel
      ? `(w.min_risk_level IS NULL OR (${s.riskLevel} IS NOT NULL AND ${s.riskLevel}::text::"RiskLevel" >= w.min_risk_level))`
      : null,
  ].filter((c): c is string => c !== null);
  // row_number() over the writer's rows as they come (RETURNING gives them in the order
  // they were written) keeps the events of one statement in that order per webhook.
  return `, webhook_outbox_rows AS (
    INSERT INTO webhook_outbox (webhook_id, event, payload)
    SELECT w.id, '${event}'::"WebhookEvent", ${s.payload}
      FROM (SELECT src.*, row_number() OVER () AS outbox_ord FROM ${s.from} src) ${s.from}
      CROSS JOIN webhooks w
     WHERE ${match.join(' AND ')}
     ORDER BY w.id, ${s.from}.outbox_ord)`;
}
