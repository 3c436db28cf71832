/**
 * Sends one attempt of a delivery and judges it: a 2xx answer delivers; anything else
 * (another status, a timeout, a refused connection or target) is retried with
 * exponential backoff and jitter until the retry window is over, when the delivery
 * fails. Logs name the target by origin only and never the secret.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { openStream, UpstreamHttpError } from '../platform/http-client.js';
import type { Logger } from '../platform/logger.js';
import type { AttemptOutcome, DueDelivery } from './delivery-repository.js';
import { deliveryBody, testBody } from './webhook-payload.js';
import { DELIVERY_HEADER, sign, SIGNATURE_HEADER, WEBHOOK_HEADER } from './webhook-signer.js';
import { guardedLookup, redactedUrl, refusedAddress, type Cidr } from './webhook-target.js';
import type { WebhookFormat } from './webhook-types.js';

export interface SenderSettings {
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  retryForMs: number;
  allowPrivate: readonly Cidr[];
}

/** A receiver's answer body is never read (the connection is dropped after the status), whatever its length. */
const MAX_ANSWER_BYTES = 2 ** 40;

export interface PostResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export class WebhookSender {
  private readonly lookup;

  constructor(
    private readonly settings: SenderSettings,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.lookup = guardedLookup(settings.allowPrivate);
  }

  /** Delay before attempt `attempt + 1` (attempt 1 is the first): doubling from the base, capped, half of it jittered. */
  backoffMs(attempt: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.settings;
    const full = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(full / 2 + (this.random() * full) / 2);
  }

  async attempt(d: DueDelivery): Promise<AttemptOutcome> {
    const body = deliveryBody(d.format, d.id, d.webhookId, d.rows);
    const res = await this.post(d.url, d.secret, d.id, d.webhookId, body);
    const attempt = d.attempts + 1;
    if (res.statusCode !== null && res.statusCode >= 200 && res.statusCode < 300) {
      return { ...res, result: { status: 'DELIVERED' } };
    }
    const elapsed = d.now.getTime() - (d.firstAttemptAt ?? d.now).getTime();
    const retryInMs = this.backoffMs(attempt);
    const log = { webhookId: d.webhookId, deliveryId: d.id, target: redactedUrl(d.url), attempt, ...res };
    if (elapsed + retryInMs > this.settings.retryForMs) {
      this.logger.warn(log, 'webhook delivery failed for good');
      return { ...res, result: { status: 'FAILED' } };
    }
    this.logger.info({ ...log, retryInMs }, 'webhook delivery attempt failed; will retry');
    return { ...res, result: { status: 'PENDING', retryInMs } };
  }

  /** One signed request with a fresh delivery id, outside the outbox (`testWebhook`). */
  test(url: string, secret: string, webhookId: string, format: WebhookFormat): Promise<PostResult> {
    const id = randomUUID();
    return this.post(url, secret, id, webhookId, testBody(format, id, webhookId));
  }

  private async post(url: string, secret: string, deliveryId: string, webhookId: string, body: string) {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    // An address in the URL is connected to without a lookup: check it here.
    const refused = isIP(host) ? refusedAddress(host, this.settings.allowPrivate) : null;
    if (refused) return { statusCode: null, latencyMs: 0, error: `target refused: ${refused}` };
    try {
      const res = await openStream({
        url,
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: sign(secret, body, Math.floor(Date.now() / 1000)),
          [DELIVERY_HEADER]: deliveryId,
          [WEBHOOK_HEADER]: webhookId,
        },
        timeouts: { connectMs: Math.min(5_000, this.settings.timeoutMs), totalMs: this.settings.timeoutMs },
        maxBytes: MAX_ANSWER_BYTES,
        lookup: this.lookup as never,
      });
      res.close();
      return {
        statusCode: res.status,
        latencyMs: latency(),
        error: res.status < 300 ? null : `HTTP ${res.status}`,
      };
    } catch (err) {
      return { statusCode: null, latencyMs: latency(), error: describe(err) };
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof UpstreamHttpError) {
    const code = err.details.code ? ` ${err.details.code}` : '';
    return `${err.kind}${code}`.slice(0, 500);
  }
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}
