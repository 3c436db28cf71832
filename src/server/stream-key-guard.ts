/**
 * A long response (a feed, an export download) follows the API key it was opened with,
 * as WebSockets do (ws-sessions.ts): when the key is revoked or changed — learnt on this
 * instance, from another through the bus, or by the revocation poll, the same
 * `onKeyChange` path that closes sockets — the response is cut at once, and between
 * chunks the key is looked up again at most every `RECHECK_MS` (a cache hit for feeds,
 * one primary-key read for export links), so a missed message still ends it within
 * that bound. Cutting means destroying the stream with an error: once the headers are
 * out, the connection is closed without the final chunk, so the client sees an
 * incomplete body, never a shorter one that looks whole.
 */
import type { ApiKeyService } from '../auth/api-key-service.js';
import { AppError, unauthenticated } from '../platform/errors.js';

/** How often, at most, a streaming response looks its key up again between chunks. */
export const RECHECK_MS = 10_000;

/** Whether the key still grants the stream: undefined if so, else why not. */
export type KeyRecheck = () => Promise<string | undefined>;

export class StreamKeyGuard {
  private lost: AppError | undefined;
  private checkedAt: number;
  private readonly unlisten: () => void;
  private onLost: ((err: AppError) => void) | undefined;

  constructor(
    apiKeys: ApiKeyService,
    private readonly keyId: string,
    private readonly recheck: KeyRecheck,
    private readonly now: () => number = Date.now,
  ) {
    this.checkedAt = now();
    this.unlisten = apiKeys.onKeyChange((change) => {
      if (change.keyId !== this.keyId) return;
      this.lose(change.revoked ? 'This API key has been revoked' : 'This API key changed');
    });
  }

  /** `fn` runs once, when the key is lost (at once if it already is). */
  whenLost(fn: (err: AppError) => void): void {
    this.onLost = fn;
    if (this.lost) fn(this.lost);
  }

  /** Throws once the key is lost; looks it up again when the last look is older than RECHECK_MS. */
  async check(): Promise<void> {
    if (!this.lost && this.now() - this.checkedAt >= RECHECK_MS) {
      this.checkedAt = this.now();
      let reason: string | undefined;
      try {
        reason = await this.recheck();
      } catch (err) {
        // Refused: lost. Anything else (the database briefly away) is the body's own
        // reads' concern: they fail on their own if it stays away.
        if (err instanceof AppError && err.code === 'UNAUTHENTICATED') reason = err.message;
      }
      if (reason) this.lose(reason);
    }
    if (this.lost) throw this.lost;
  }

  dispose(): void {
    this.unlisten();
    this.onLost = undefined;
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.lost = unauthenticated(`${reason}; the response was cut short`);
    this.onLost?.(this.lost);
  }
}
