/**
 * The delivery worker's storage. Instances share the work without a leader:
 *
 * - `assignBatches` groups a webhook's waiting outbox rows into a new delivery (its id
 *   is the de-duplication id a receiver sees) once the batch is full or its oldest event
 *   has waited the batch window. The webhook row is locked `FOR NO KEY UPDATE SKIP
 *   LOCKED` (writers' outbox inserts only take KEY SHARE locks, so ingestion never
 *   waits), and a webhook gets a new delivery only when it has no pending one: events
 *   leave in outbox order.
 * - `withDueDelivery` locks one due delivery `FOR UPDATE SKIP LOCKED` in a transaction
 *   held while the request is sent, then records the outcome. If the process dies
 *   mid-request the transaction rolls back with the connection, the delivery stays
 *   pending with the same id and body, and another pass sends it again: at least once.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { OutboxRow, WebhookFormat } from './webhook-types.js';

export interface DueDelivery {
  id: string;
  webhookId: string;
  url: string;
  secret: string;
  format: WebhookFormat;
  attempts: number;
  /** Database time of the first attempt (this one when null). */
  firstAttemptAt: Date | null;
  now: Date;
  rows: OutboxRow[];
}

export interface AttemptOutcome {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** DELIVERED, FAILED (retry window over), or PENDING with the next attempt's delay. */
  result: { status: 'DELIVERED' } | { status: 'FAILED' } | { status: 'PENDING'; retryInMs: number };
}

export interface CompletedAttempt {
  /** Set when this failure paused the webhook. */
  pausedReason: string | null;
}

export class DeliveryRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates deliveries for webhooks with a full batch or a batch older than the window; returns how many. */
  async assignBatches(batchMax: number, windowMs: number): Promise<number> {
    const { rows: candidates } = await this.pool.query<{ id: string }>(
      `SELECT w.id FROM webhooks w
        WHERE w.paused_at IS NULL
          AND EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.delivery_id IS NULL)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'PENDING')`,
    );
    let made = 0;
    for (const { id } of candidates) if (await this.assignOne(id, batchMax, windowMs)) made++;
    return made;
  }

  private async assignOne(webhookId: string, batchMax: number, windowMs: number): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const locked = await client.query(
        `SELECT id FROM webhooks WHERE id = $1 AND paused_at IS NULL FOR NO KEY UPDATE SKIP LOCKED`,
        [webhookId],
      );
      // Each statement below sees what other instances committed before the lock was taken.
      const pending = await client.query(
        `SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'PENDING' LIMIT 1`,
        [webhookId],
      );
      if (locked.rowCount === 0 || (pending.rowCount ?? 0) > 0) {
        await client.query('ROLLBACK');
        return false;
      }
      const { rows } = await client.query<{ n: number; ready: boolean }>(
        `SELECT count(*)::int AS n, (min(created_at) <= clock_timestamp() - make_interval(secs => $3 / 1000.0)) AS ready
           FROM (SELECT created_at FROM webhook_outbox WHERE webhook_id = $1 AND delivery_id IS NULL
                  ORDER BY id LIMIT $2) o`,
        [webhookId, batchMax, windowMs],
      );
      const n = rows[0]?.n ?? 0;
      if (n === 0 || (n < batchMax && rows[0]?.ready !== true)) {
        await client.query('ROLLBACK');
        return false;
      }
      const deliveryId = randomUUID();
      await client.query(
        `INSERT INTO webhook_deliveries (id, webhook_id, event_count, next_attempt_at)
         VALUES ($1, $2, $3, now())`,
        [deliveryId, webhookId, n],
      );
      await client.query(
        `UPDATE webhook_outbox SET delivery_id = $1 WHERE id IN (
           SELECT id FROM webhook_outbox WHERE webhook_id = $2 AND delivery_id IS NULL ORDER BY id LIMIT $3)`,
        [deliveryId, webhookId, n],
      );
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Locks one due delivery of an active webhook, hands it to `send`, and stores the
   * outcome in the same transaction. False when nothing was due (or all due ones are
   * locked by other instances).
   */
  async withDueDelivery(
    send: (d: DueDelivery) => Promise<AttemptOutcome>,
    pauseAfter: number,
  ): Promise<{ delivery: DueDelivery; outcome: AttemptOutcome; completed: CompletedAttempt } | null> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<Omit<DueDelivery, 'rows'>>(
        `SELECT d.id, d.webhook_id AS "webhookId", w.url, w.secret, w.format, d.attempts,
                d.first_attempt_at AS "firstAttemptAt", now() AS now
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND w.paused_at IS NULL
          ORDER BY d.next_attempt_at, d.created_at
          LIMIT 1 FOR UPDATE OF d SKIP LOCKED`,
      );
      const head = rows[0];
      if (!head) {
        await client.query('ROLLBACK');
        return null;
      }
      const events = await client.query<OutboxRow>(
        `SELECT event_id AS "eventId", event, payload, created_at AS "createdAt"
           FROM webhook_outbox WHERE delivery_id = $1 ORDER BY id`,
        [head.id],
      );
      const delivery: DueDelivery = { ...head, rows: events.rows };
      const outcome = await send(delivery);
      const completed = await this.record(client, delivery, outcome, pauseAfter);
      await client.query('COMMIT');
      return { delivery, outcome, completed };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async record(
    client: pg.PoolClient,
    d: DueDelivery,
    o: AttemptOutcome,
    pauseAfter: number,
  ): Promise<CompletedAttempt> {
    await client.query(
      `INSERT INTO webhook_delivery_attempts (delivery_id, at, status_code, latency_ms, error)
       VALUES ($1, clock_timestamp(), $2, $3, $4)`,
      [d.id, o.statusCode, o.latencyMs, o.error],
    );
    const r = o.result;
    await client.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $2),
         last_status_code = $3, last_latency_ms = $4, last_error = $5, status = $6::"WebhookDeliveryStatus",
         completed_at = CASE WHEN $6 = 'PENDING' THEN NULL ELSE clock_timestamp() END,
         next_attempt_at = clock_timestamp() + make_interval(secs => $7 / 1000.0)
       WHERE id = $1`,
      [d.id, d.now, o.statusCode, o.latencyMs, o.error, r.status, r.status === 'PENDING' ? r.retryInMs : 0],
    );
    if (r.status === 'PENDING') return { pausedReason: null };
    // A finished delivery's events leave the outbox; the delivery row keeps the count.
    await client.query('DELETE FROM webhook_outbox WHERE delivery_id = $1', [d.id]);
    if (r.status === 'DELIVERED') {
      await client.query(
        'UPDATE webhooks SET failed_deliveries = 0 WHERE id = $1 AND failed_deliveries <> 0',
        [d.webhookId],
      );
      return { pausedReason: null };
    }
    const reason =
      `${pauseAfter} deliveries in a row failed; the last: ${o.error ?? `HTTP ${o.statusCode}`}`.slice(
        0,
        500,
      );
    const { rows } = await client.query<{ paused: boolean }>(
      `UPDATE webhooks SET failed_deliveries = failed_deliveries + 1,
         paused_at = CASE WHEN failed_deliveries + 1 >= $2 THEN now() ELSE paused_at END,
         paused_reason = CASE WHEN failed_deliveries + 1 >= $2 THEN $3 ELSE paused_reason END
       WHERE id = $1 RETURNING paused_at IS NOT NULL AS paused`,
      [d.webhookId, pauseAfter, reason],
    );
    return { pausedReason: rows[0]?.paused ? reason : null };
  }
}
