import type { ApiKeyRepository, RevokedKey } from '../../src/auth/api-key-repository.js';
import type { ApiKeyRecord } from '../../src/auth/api-key-types.js';

/**
 * In-memory API-key repository for service tests: counts lookups and writes, and can
 * be made unavailable (`down`) to stand for an unreachable database.
 */
export class MemoryKeyRepo implements ApiKeyRepository {
  rows: ApiKeyRecord[] = [];
  touches: Map<string, Date>[] = [];
  lookups = 0;
  down = false;

  private check(): void {
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  }
  create(d: {
    name: string;
    role: ApiKeyRecord['role'];
    prefix: string;
    hash: string;
    unlimited?: boolean;
    feedsOnly?: boolean;
  }) {
    const row = {
      ...d,
      unlimited: d.unlimited ?? false,
      feedsOnly: d.feedsOnly ?? false,
      id: crypto.randomUUID(),
      createdAt: new Date(),
      lastUsedAt: null,
      revokedAt: null,
    };
    this.rows.push(row);
    return Promise.resolve(row);
  }
  findByHash(hash: string) {
    this.lookups += 1;
    return Promise.resolve().then(() => {
      this.check();
      return this.rows.find((r) => r.hash === hash) ?? null;
    });
  }
  findById(id: string) {
    return Promise.resolve().then(() => {
      this.check();
      return this.rows.find((r) => r.id === id) ?? null;
    });
  }
  /** Statements asked of currentStates (failed ones too), each with its ids. */
  stateReads: string[][] = [];
  /** While set, currentStates reads its rows at once but answers only when it settles. */
  holdStates: Promise<void> | undefined;
  async currentStates(ids: readonly string[]) {
    await Promise.resolve();
    this.stateReads.push([...ids]);
    this.check();
    const states = this.rows
      .filter((r) => ids.includes(r.id))
      .map((r) => ({
        id: r.id,
        hash: r.hash,
        role: r.role,
        feedsOnly: r.feedsOnly,
        revoked: r.revokedAt !== null,
      }));
    await this.holdStates;
    return states;
  }
  revoke(id: string) {
    const r = this.rows.find((x) => x.id === id && !x.revokedAt);
    if (r) r.revokedAt = new Date();
    return Promise.resolve(Boolean(r));
  }
  revokedSince(since: Date | undefined) {
    const now = new Date();
    const from = since ?? now;
    const keys: RevokedKey[] = this.rows
      .filter((r) => r.revokedAt && r.revokedAt >= from)
      .map((r) => ({ id: r.id, hash: r.hash }));
    return Promise.resolve({ keys, now });
  }
  countActiveAdmins() {
    return Promise.resolve(this.rows.filter((r) => r.role === 'ADMIN' && !r.revokedAt).length);
  }
  list() {
    return Promise.resolve(this.rows);
  }
  count() {
    return Promise.resolve(this.rows.length);
  }
  touch(lastUsed: ReadonlyMap<string, Date>) {
    this.touches.push(new Map(lastUsed));
    return Promise.resolve();
  }
  exclusive<T>(fn: (repo: ApiKeyRepository) => Promise<T>): Promise<T> {
    return fn(this); // one process, nothing to lock against
  }
}
