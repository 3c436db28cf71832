import type pg from 'pg';
import type { PrismaClient } from '../platform/prisma-client/client.js';
import type { ApiKeyRecord } from './api-key-types.js';
import type { Role } from './roles.js';

export interface RevokedKey {
  id: string;
  hash: string;
}

/** What a write's confirmation reads of a key (ApiKeyService.confirm). */
export interface KeyState {
  id: string;
  hash: string;
  role: Role;
  feedsOnly: boolean;
  revoked: boolean;
}

export interface NewApiKey {
  name: string;
  role: Role;
  prefix: string;
  hash: string;
  unlimited?: boolean;
  feedsOnly?: boolean;
}

export interface ApiKeyRepository {
  create(data: NewApiKey): Promise<ApiKeyRecord>;
  findByHash(hash: string): Promise<ApiKeyRecord | null>;
  findById(id: string): Promise<ApiKeyRecord | null>;
  /** The keys with these ids as committed now (unknown ids are left out), in one statement. */
  currentStates(ids: readonly string[]): Promise<KeyState[]>;
  /** Revokes at the database's clock (instances' clocks may differ; pollers compare to it). */
  revoke(id: string): Promise<boolean>;
  /**
   * Keys revoked at or after `since` (by the database's clock), and that clock's time now.
   * `since` undefined = from the database's now on (nothing yet).
   */
  revokedSince(since: Date | undefined): Promise<{ keys: RevokedKey[]; now: Date }>;
  countActiveAdmins(): Promise<number>;
  list(opts: {
    take: number;
    after?: { createdAt: Date; id: string };
    includeRevoked: boolean;
  }): Promise<ApiKeyRecord[]>;
  count(includeRevoked: boolean): Promise<number>;
  touch(lastUsed: ReadonlyMap<string, Date>): Promise<void>;
  /**
   * Runs `fn` in one transaction that holds a lock no other instance's `exclusive` holds at
   * the same time (instances starting together on an empty database bootstrap one admin).
   */
  exclusive<T>(fn: (repo: ApiKeyRepository) => Promise<T>): Promise<T>;
}

/** Transaction-scoped advisory lock key for `exclusive` ("tw" + "keys"). */
const BOOTSTRAP_LOCK = 0x7477_6b65;

export class PgApiKeyRepository implements ApiKeyRepository {
  /** `pool` serves the per-write confirmation, a path too hot for a Prisma query. */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: pg.Pool,
  ) {}

  create(data: NewApiKey): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data });
  }

  findByHash(hash: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { hash } });
  }

  findById(id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { id } });
  }

  async currentStates(ids: readonly string[]): Promise<KeyState[]> {
    const sql = `SELECT id::text AS id, hash, role::text AS role, feeds_only AS "feedsOnly",
        revoked_at IS NOT NULL AS revoked
      FROM api_keys WHERE id = ANY($1::uuid[])`;
    const { rows } = await this.pool.query<KeyState>({ name: 'api_key_states', text: sql, values: [ids] });
    return rows;
  }

  async revoke(id: string): Promise<boolean> {
    const changed = await this.prisma.$executeRaw`
      UPDATE api_keys SET revoked_at = now() WHERE id = ${id}::uuid AND revoked_at IS NULL`;
    return changed > 0;
  }

  async revokedSince(since: Date | undefined): Promise<{ keys: RevokedKey[]; now: Date }> {
    // One round trip; the outer row carries the clock even when nothing was revoked.
    const rows = await this.prisma.$queryRaw<{ id: string | null; hash: string | null; now: Date }[]>`
      SELECT k.id::text AS id, k.hash, c.now
      FROM (SELECT now() AS now) c
      LEFT JOIN api_keys k ON k.revoked_at >= coalesce(${since ?? null}::timestamptz, c.now)`;
    const keys: RevokedKey[] = [];
    for (const r of rows) if (r.id && r.hash) keys.push({ id: r.id, hash: r.hash });
    return { keys, now: rows[0]?.now ?? new Date() };
  }

  countActiveAdmins(): Promise<number> {
    return this.prisma.apiKey.count({ where: { role: 'ADMIN', revokedAt: null } });
  }

  list(opts: {
    take: number;
    after?: { createdAt: Date; id: string };
    includeRevoked: boolean;
  }): Promise<ApiKeyRecord[]> {
    const after = opts.after;
    return this.prisma.apiKey.findMany({
      where: {
        ...(opts.includeRevoked ? {} : { revokedAt: null }),
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: opts.take,
    });
  }

  count(includeRevoked: boolean): Promise<number> {
    return this.prisma.apiKey.count({ where: includeRevoked ? {} : { revokedAt: null } });
  }

  exclusive<T>(fn: (repo: ApiKeyRepository) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK}::bigint)`;
      // Same queries, on the transaction's connection (nothing in `fn` nests another transaction).
      return fn(new PgApiKeyRepository(tx as unknown as PrismaClient, this.pool));
    });
  }

  async touch(lastUsed: ReadonlyMap<string, Date>): Promise<void> {
    // One transaction per flush for every key used since the last one, not a write per request.
    await this.prisma.$transaction(
      [...lastUsed].map(([id, at]) =>
        this.prisma.apiKey.updateMany({ where: { id }, data: { lastUsedAt: at } }),
      ),
    );
  }
}
