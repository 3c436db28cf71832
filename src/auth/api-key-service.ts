import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { badInput, notFound, unauthenticated } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { ApiKeyRepository } from './api-key-repository.js';
import type { ApiKeyRecord, Principal } from './api-key-types.js';
import type { Role } from './roles.js';

const KEY_PREFIX = 'tw_';
/** 32 random bytes = 256 bits, base64url. */
const KEY_BYTES = 32;
const VISIBLE_PREFIX_LENGTH = KEY_PREFIX.length + 8;
const MIN_KEY_LENGTH = 24;
const MAX_KEY_LENGTH = 256;
/** Verified keys are remembered briefly; revocation evicts them on every instance. */
const VERIFY_CACHE_TTL_MS = 10_000;
const LAST_USED_FLUSH_MS = 60_000;
const REVOKED_TOPIC = 'auth.keyRevoked';

export const hashKey = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

export interface CreatedKey {
  record: ApiKeyRecord;
  secret: string;
}

export class ApiKeyService {
  private readonly verified = new LRUCache<string, Principal>({ max: 10_000, ttl: VERIFY_CACHE_TTL_MS });
  private readonly lastUsed = new Map<string, Date>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly bus: EventBus,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'api-keys' });
  }

  startLastUsedTracking(intervalMs = LAST_USED_FLUSH_MS): void {
    this.flushTimer = setInterval(() => void this.flushLastUsed(), intervalMs);
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map(this.lastUsed);
    this.lastUsed.clear();
    try {
      await this.repo.touch(batch);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, keys: batch.size }, 'could not record lastUsedAt');
    }
  }

  /** Resolves a presented key to its principal, or throws UNAUTHENTICATED. */
  async verify(secret: string | undefined): Promise<Principal> {
    if (!secret)
      throw unauthenticated('An API key is required: send "Authorization: Bearer <key>" or "X-API-Key"');
    if (secret.length < MIN_KEY_LENGTH || secret.length > MAX_KEY_LENGTH)
      throw unauthenticated('Invalid API key');
    const hash = hashKey(secret);
    let principal = this.verified.get(hash);
    if (!principal) {
      const record = await this.repo.findByHash(hash);
      // The index lookup already matched; compare again in constant time so no code
      // path branches on a partial match.
      if (!record || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) {
        throw unauthenticated('Invalid API key');
      }
      if (record.revokedAt) throw unauthenticated('This API key has been revoked');
      principal = { keyId: record.id, name: record.name, role: record.role };
      this.verified.set(hash, principal);
    }
    this.lastUsed.set(principal.keyId, new Date());
    return principal;
  }

  async create(name: string, role: Role): Promise<CreatedKey> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 100) throw badInput('name must be 1–100 characters');
    if ([...trimmed].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      throw badInput('name must not contain control characters');
    return this.insertNew(this.repo, trimmed, role);
  }

  /** A fresh random key stored by `repo` (only its hash); the secret is returned once. */
  private async insertNew(repo: ApiKeyRepository, name: string, role: Role): Promise<CreatedKey> {
    const secret = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    const record = await repo.create({
      name,
      role,
      prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
      hash: hashKey(secret),
    });
    this.log.info({ keyId: record.id, name, role }, 'api key created');
    return { record, secret };
  }

  /** Returns false when the key was already revoked. */
  async revoke(id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw badInput('id must be an API key id (UUID)');
    const record = await this.repo.findById(id);
    if (!record) throw notFound(`No API key with id ${id}`);
    const changed = await this.repo.revoke(id, new Date());
    this.verified.delete(record.hash);
    await this.bus.publish(REVOKED_TOPIC, { hash: record.hash });
    if (changed) this.log.info({ keyId: id }, 'api key revoked');
    return changed;
  }

  /** Every instance forgets a revoked key at once, whichever instance revoked it. */
  async listenForRevocations(): Promise<void> {
    for await (const { hash } of this.bus.subscribe<{ hash: string }>(REVOKED_TOPIC)) {
      this.verified.delete(hash);
    }
  }

  async get(id: string): Promise<ApiKeyRecord> {
    const record = await this.repo.findById(id);
    if (!record) throw notFound(`No API key with id ${id}`);
    return record;
  }

  async list(opts: { first: number; after?: { createdAt: Date; id: string }; includeRevoked: boolean }) {
    const [rows, totalCount] = await Promise.all([
      this.repo.list({ take: opts.first + 1, after: opts.after, includeRevoked: opts.includeRevoked }),
      this.repo.count(opts.includeRevoked),
    ]);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first, totalCount };
  }

  /**
   * First start: with ADMIN_API_KEY, make sure that key exists; otherwise, when no
   * active ADMIN key exists, create one and return its secret so it can be printed once.
   */
  async bootstrapAdmin(
    adminApiKey: string | undefined,
  ): Promise<{ secret?: string; source: 'env' | 'generated' | 'existing' }> {
    // Under one lock across instances: two first starts at the same instant must not both
    // generate a key (or both insert ADMIN_API_KEY, the second failing on its unique hash).
    return this.repo.exclusive(async (repo) => {
      if (adminApiKey) {
        const hash = hashKey(adminApiKey);
        const existing = await repo.findByHash(hash);
        if (!existing) {
          await repo.create({
            name: 'admin (ADMIN_API_KEY)',
            role: 'ADMIN',
            prefix: adminApiKey.slice(0, VISIBLE_PREFIX_LENGTH),
            hash,
          });
        } else if (existing.revokedAt) {
          this.log.warn('ADMIN_API_KEY is set but that key was revoked; it will not authenticate');
        }
        return { source: 'env' as const };
      }
      if ((await repo.countActiveAdmins()) > 0) return { source: 'existing' as const };
      const { secret } = await this.insertNew(repo, 'initial admin', 'ADMIN');
      return { secret, source: 'generated' as const };
    });
  }
}
