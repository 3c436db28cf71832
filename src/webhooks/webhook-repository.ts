/**
 * PostgreSQL storage of webhooks and the read side of their deliveries. The secret is
 * read only by `secretOf` (signing); every other read leaves it out.
 */
import type pg from 'pg';
import type { OutboxEvent } from '../platform/outbox.js';
import { listStatement, pageOf, RowCounter, type Cursor } from '../platform/page.js';
import type {
  DeliveryAttemptRecord,
  DeliveryPage,
  DeliveryRecord,
  WebhookInput,
  WebhookRecord,
} from './webhook-types.js';

/** Attempts listed per delivery (the newest); `attempts` counts them all. */
export const ATTEMPT_HISTORY = 20;

const COLUMNS = `id, url, events::text[] AS events, format, description, min_severity, categories, countries,
  scenarios, min_risk_level, paused_at, paused_reason, failed_deliveries, created_at, updated_at`;

interface WebhookRow {
  id: string;
  url: string;
  events: OutboxEvent[];
  format: WebhookRecord['format'];
  description: string | null;
  min_severity: number | null;
  categories: string[] | null;
  countries: string[] | null;
  scenarios: string[] | null;
  min_risk_level: WebhookRecord['filter']['minRiskLevel'];
  paused_at: Date | null;
  paused_reason: string | null;
  failed_deliveries: number;
  created_at: Date;
  updated_at: Date;
}

const toWebhook = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  url: r.url,
  events: r.events,
  filter: {
    minSeverity: r.min_severity,
    categories: r.categories ?? [],
    countries: r.countries ?? [],
    scenarios: r.scenarios ?? [],
    minRiskLevel: r.min_risk_level,
  },
  format: r.format,
  description: r.description,
  pausedAt: r.paused_at,
  pausedReason: r.paused_reason,
  failedDeliveries: r.failed_deliveries,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const DELIVERY_COLUMNS = `id, webhook_id AS "webhookId", status, event_count AS "eventCount", attempts,
  created_at AS "createdAt", first_attempt_at AS "firstAttemptAt", next_attempt_at AS "nextAttemptAt",
  completed_at AS "completedAt", last_status_code AS "lastStatusCode", last_latency_ms AS "lastLatencyMs",
  last_error AS "lastError"`;

const inputParams = (w: WebhookInput) => [
  w.url,
  w.secret,
  w.events,
  w.format,
  w.description,
  w.filter.minSeverity,
  w.filter.categories,
  w.filter.countries,
  w.filter.scenarios,
  w.filter.minRiskLevel,
];

export class WebhookRepository {
  private readonly counter: RowCounter;

  constructor(private readonly pool: pg.Pool) {
    this.counter = new RowCounter(pool);
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks');
    return rows[0]?.n ?? 0;
  }

  async create(w: WebhookInput): Promise<WebhookRecord> {
    const { rows } = await this.pool.query<WebhookRow>(
      `INSERT INTO webhooks (url, secret, events, format, description, min_severity, categories, countries,
         scenarios, min_risk_level)
       VALUES ($1, $2, $3::"WebhookEvent"[], $4::"WebhookFormat", $5, $6, $7, $8, $9, $10::"RiskLevel")
       RETURNING ${COLUMNS}`,
      inputParams(w),
    );
    return toWebhook(rows[0]!);
  }

  async update(id: string, w: WebhookInput): Promise<WebhookRecord | null> {
    const { rows } = await this.pool.query<WebhookRow>(
      `UPDATE webhooks SET url = $1, secret = $2, events = $3::"WebhookEvent"[], format = $4::"WebhookFormat",
         description = $5, min_severity = $6, categories = $7, countries = $8, scenarios = $9,
         min_risk_level = $10::"RiskLevel", updated_at = now()
       WHERE id = $11 RETURNING ${COLUMNS}`,
      [...inputParams(w), id],
    );
    return rows[0] ? toWebhook(rows[0]) : null;
  }

  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM webhooks WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async get(id: string): Promise<WebhookRecord | null> {
    const { rows } = await this.pool.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1`, [id]);
    return rows[0] ? toWebhook(rows[0]) : null;
  }

  async list(): Promise<WebhookRecord[]> {
    const { rows } = await this.pool.query<WebhookRow>(
      `SELECT ${COLUMNS} FROM webhooks ORDER BY created_at, id`,
    );
    return rows.map(toWebhook);
  }

  async secretOf(id: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ secret: string }>('SELECT secret FROM webhooks WHERE id = $1', [
      id,
    ]);
    return rows[0]?.secret ?? null;
  }

  /** The events any active webhook subscribes to. */
  async activeEvents(): Promise<Set<OutboxEvent>> {
    const { rows } = await this.pool.query<{ event: OutboxEvent }>(
      'SELECT DISTINCT unnest(events)::text AS event FROM webhooks WHERE paused_at IS NULL',
    );
    return new Set(rows.map((r) => r.event));
  }

  /**
   * Pauses (with a reason) or resumes. Resuming clears the failure count and gives a
   * waiting delivery a fresh retry window, due at once.
   */
  async setPaused(id: string, reason: string | null): Promise<WebhookRecord | null> {
    const { rows } = await this.pool.query<WebhookRow>(
      reason === null
        ? `WITH w AS (UPDATE webhooks SET paused_at = NULL, paused_reason = NULL, failed_deliveries = 0,
                        updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}),
                d AS (UPDATE webhook_deliveries SET first_attempt_at = NULL, next_attempt_at = now()
                       WHERE webhook_id = $1 AND status = 'PENDING')
           SELECT * FROM w`
        : `UPDATE webhooks SET paused_at = COALESCE(paused_at, now()), paused_reason = $2, updated_at = now()
            WHERE id = $1 RETURNING ${COLUMNS}`,
      reason === null ? [id] : [id, reason],
    );
    return rows[0] ? toWebhook(rows[0]) : null;
  }

  /** Newest first by (createdAt, id), each with its latest attempts. */
  async deliveries(webhookId: string, first: number, after: Cursor | undefined): Promise<DeliveryPage> {
    const params: unknown[] = [webhookId];
    let where = 'webhook_id = $1';
    if (after) {
      params.push(after.at, after.id);
      where += ' AND (created_at, id) < ($2, $3::uuid)';
    }
    params.push(first + 1);
    const { rows } = await this.pool.query<Omit<DeliveryRecord, 'attemptHistory'>>(
      listStatement(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ${where}
          ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
        params,
      ),
    );
    const history = await this.attempts(rows.map((r) => r.id));
    const records = rows.map((r) => ({ ...r, attemptHistory: history.get(r.id) ?? [] }));
    return pageOf(records, first, () =>
      this.counter.count('webhook_deliveries', ['webhook_id = $1'], [webhookId]),
    );
  }

  private async attempts(ids: readonly string[]): Promise<Map<string, DeliveryAttemptRecord[]>> {
    const out = new Map<string, DeliveryAttemptRecord[]>();
    if (ids.length === 0) return out;
    const { rows } = await this.pool.query<DeliveryAttemptRecord & { deliveryId: string }>(
      `SELECT a.delivery_id AS "deliveryId", a.at, a.status_code AS "statusCode", a.latency_ms AS "latencyMs", a.error
         FROM unnest($1::uuid[]) AS d(id)
         CROSS JOIN LATERAL (SELECT * FROM webhook_delivery_attempts x WHERE x.delivery_id = d.id
                              ORDER BY x.id DESC LIMIT ${ATTEMPT_HISTORY}) a
        ORDER BY a.id`,
      [ids],
    );
    for (const { deliveryId, ...a } of rows) {
      const list = out.get(deliveryId) ?? [];
      list.push(a);
      out.set(deliveryId, list);
    }
    return out;
  }

  /** Deletes finished deliveries completed before `cutoff`; returns how many. */
  async deleteFinishedBefore(cutoff: Date, batch: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status <> 'PENDING' AND completed_at < $1 LIMIT $2)`,
      [cutoff, batch],
    );
    return rowCount ?? 0;
  }
}
