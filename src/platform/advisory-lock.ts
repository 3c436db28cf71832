/**
 * A `WorkerLock` over a PostgreSQL session advisory lock. The lock lives on a
 * dedicated connection (not a pooled one, which the pool could recycle or share), so
 * it is released by the server the moment its holder's connection dies — a crashed or
 * frozen-then-killed instance — and another instance takes it on its next `acquire()`,
 * which the worker runner calls every interval: takeover within one interval.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { WorkerLock } from './worker-runner.js';
import type { Logger } from './logger.js';

/** First half of the two-int lock key: keeps our locks apart from other applications'. */
const NAMESPACE = 0x7477_0001; // "tw" + 1

export interface AdvisoryLockOptions {
  connectionString: string;
  /** Any text; hashed into the lock key. */
  name: string;
  logger: Logger;
  connectTimeoutMs?: number;
}

export class PgAdvisoryLock implements WorkerLock {
  private client: pg.Client | undefined;
  private held = false;
  private readonly key: number;
  private readonly log: Logger;
  /**
   * Grows by one on every fresh acquisition. A holder that lost the lock and got it
   * back may have missed what another instance did meanwhile: workers compare this
   * number to resynchronise.
   */
  generation = 0;

  constructor(private readonly opts: AdvisoryLockOptions) {
    this.key = createHash('sha256').update(opts.name).digest().readInt32BE(0);
    this.log = opts.logger.child({ component: 'advisory-lock', lock: opts.name });
  }

  get isHeld(): boolean {
    return this.held;
  }

  async acquire(): Promise<boolean> {
    try {
      const client = await this.connection();
      if (this.held) {
        // Still ours as long as the session lives; a round trip proves it does.
        await client.query('SELECT 1');
        return true;
      }
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        NAMESPACE,
        this.key,
      ]);
      if (rows[0]?.ok) {
        this.held = true;
        this.generation++;
        this.log.info({ generation: this.generation }, 'lock acquired');
      }
      return this.held;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lock connection failed; not holding the lock');
      await this.drop();
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    if (client && this.held) {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [NAMESPACE, this.key]).catch(() => undefined);
    }
    await this.drop();
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.opts.connectionString,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5_000,
      application_name: 'threatwire-lock',
    });
    // A dying session frees the lock on the server; forget it here too.
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'lock connection lost');
      void this.drop();
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.held) this.log.info('lock released');
    this.held = false;
    await client?.end().catch(() => undefined);
  }
}
