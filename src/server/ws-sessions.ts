import type { WebSocket } from 'ws';
import type { ApiKeyService } from '../auth/api-key-service.js';
import type { Principal } from '../auth/api-key-types.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Worker } from '../platform/worker-runner.js';

/** Close codes (graphql-ws's family): key refused or revoked; auth rate limited; retry later. */
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TOO_MANY_FAILURES = 4429;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** One graphql-ws socket as the server tracks it. */
export interface Session {
  readonly socket: WebSocket;
  principal?: Principal;
  hash?: string;
  /** Ids of the operations in flight on this socket (each holds a slot). */
  readonly operations: Set<string>;
  /** Those of them that passed every check and run (counted in the subscriptions gauge). */
  readonly running: Set<string>;
  /** The socket closed, or the server is closing it: nothing more may run on it. */
  closed: boolean;
  /** Counted in the open-connections gauge. */
  counted: boolean;
}

export type SlotLimit = 'wsMaxSubscriptions' | 'wsMaxSubscriptionsPerKey' | 'wsMaxSubscriptionsPerProcess';

export interface SessionLimits {
  perSocket: number;
  perKey: number;
  perProcess: number;
}

/**
 * The authenticated sockets of this instance by API key: a revoked or changed key
 * closes its sockets at once (4403, their operations end with them), every socket's
 * key is re-checked whenever its verification cache entry would expire (a missed
 * revocation message or a changed role is still caught), and operations in flight are
 * counted per socket, per key and per process.
 */
export class WsSessions {
  private readonly byHash = new Map<string, Set<Session>>();
  private readonly perKey = new Map<string, number>();
  private total = 0;
  private readonly unlisten: () => void;

  constructor(
    private readonly apiKeys: ApiKeyService,
    private readonly limits: SessionLimits,
    private readonly log: Logger,
    /** Called with +1 / -1 as operations start and stop running (the subscriptions gauge). */
    private readonly onRunning: (delta: number) => void = () => undefined,
  ) {
    this.unlisten = apiKeys.onKeyChange((change) =>
      this.closeKey(change.hash, change.revoked ? 'API key revoked' : 'API key changed'),
    );
  }

  /** The socket authenticated as `principal`; from now on it follows its key. */
  attach(session: Session, principal: Principal, hash: string): void {
    session.principal = principal;
    session.hash = hash;
    let set = this.byHash.get(hash);
    if (!set) this.byHash.set(hash, (set = new Set()));
    set.add(session);
    // Revoked while this socket was being verified: the close message has gone by.
    if (this.apiKeys.knowsRevoked(hash)) this.end(session, CLOSE_FORBIDDEN, 'API key revoked');
  }

  /** The socket closed: free its slots and forget it. */
  detach(session: Session): void {
    session.closed = true;
    for (const id of [...session.operations]) this.release(session, id);
    if (session.hash) {
      const set = this.byHash.get(session.hash);
      set?.delete(session);
      if (set?.size === 0) this.byHash.delete(session.hash);
    }
  }

  /** Takes a slot for operation `id`, or names the limit that refuses it. */
  reserve(session: Session, id: string): SlotLimit | undefined {
    const keyId = session.principal?.keyId ?? '';
    if (session.operations.size >= this.limits.perSocket) return 'wsMaxSubscriptions';
    const forKey = this.perKey.get(keyId) ?? 0;
    if (forKey >= this.limits.perKey) return 'wsMaxSubscriptionsPerKey';
    if (this.total >= this.limits.perProcess) return 'wsMaxSubscriptionsPerProcess';
    session.operations.add(id);
    this.perKey.set(keyId, forKey + 1);
    this.total += 1;
    return undefined;
  }

  /** Operation `id` passed its checks and runs. */
  started(session: Session, id: string): void {
    if (!session.operations.has(id) || session.running.has(id)) return;
    session.running.add(id);
    this.onRunning(1);
  }

  /** Frees operation `id`'s slot; false when it held none (already freed). */
  release(session: Session, id: string): boolean {
    if (session.running.delete(id)) this.onRunning(-1);
    if (!session.operations.delete(id)) return false;
    const keyId = session.principal?.keyId ?? '';
    const left = (this.perKey.get(keyId) ?? 1) - 1;
    if (left > 0) this.perKey.set(keyId, left);
    else this.perKey.delete(keyId);
    this.total -= 1;
    return true;
  }

  limitOf(limit: SlotLimit): number {
    if (limit === 'wsMaxSubscriptions') return this.limits.perSocket;
    return limit === 'wsMaxSubscriptionsPerKey' ? this.limits.perKey : this.limits.perProcess;
  }

  /** Closes one socket; operations arriving on it afterwards are refused. */
  end(session: Session, code: number, reason: string): void {
    session.closed = true;
    session.socket.close(code, reason);
  }

  /**
   * Checks the key again (a cache hit until its entry expires, then PostgreSQL). Throws
   * what verification throws; closes the key's sockets when it is refused or changed.
   */
  async recheck(session: Session): Promise<Principal> {
    const hash = session.hash;
    const was = session.principal;
    if (!hash || !was) throw new AppError('UNAUTHENTICATED', 'Connection is not authenticated');
    let now: Principal;
    try {
      now = await this.apiKeys.verifyHash(hash);
    } catch (err) {
      if (err instanceof AppError && err.code === 'UNAUTHENTICATED') this.closeKey(hash, err.message);
      throw err;
    }
    if (now.keyId !== was.keyId || now.role !== was.role) {
      this.end(session, CLOSE_FORBIDDEN, 'API key changed');
      throw new AppError('UNAUTHENTICATED', 'This API key changed; reconnect');
    }
    return now;
  }

  /** A worker that re-checks every connected key (each at most once per cache lifetime). */
  worker(intervalMs: number): Worker {
    return {
      id: 'ws-key-recheck',
      intervalMs,
      enabled: true,
      run: async () => {
        // The first socket of a key pays for the lookup; the others hit the cache.
        for (const set of [...this.byHash.values()]) {
          for (const session of [...set]) {
            if (session.closed) continue;
            try {
              await this.recheck(session);
            } catch (err) {
              if (err instanceof AppError && err.code === 'UPSTREAM_UNAVAILABLE') {
                // Not verified recently enough to be served through the outage.
                this.end(session, CLOSE_TRY_AGAIN_LATER, 'API key cannot be verified now');
              } else if (!(err instanceof AppError)) {
                this.log.warn({ err }, 'websocket key re-check failed');
              }
            }
          }
        }
      },
    };
  }

  dispose(): void {
    this.unlisten();
  }

  private closeKey(hash: string, reason: string): void {
    const set = this.byHash.get(hash);
    if (!set) return;
    for (const session of [...set]) this.end(session, CLOSE_FORBIDDEN, reason.slice(0, 100));
  }
}
