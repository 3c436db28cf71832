import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, badInput, notFound, unauthenticated, upstreamUnavailable } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { Logger } from '../platform/logger.js';
import type { FailureBudget } from '../platform/rate-limiter.js';
import { SingleFlight } from '../platform/single-flight.js';
import { WriteCoalescer } from '../platform/write-coalescer.js';
import { isUuid } from '../platform/uuid.js';
import type { ApiKeyRepository, KeyState } from './api-key-repository.js';
import type { ApiKeyRecord, AuthOutcome, KeyChange, Principal } from './api-key-types.js';
import { KeyCache } from './key-cache.js';
import type { Role } from './roles.js';

const KEY_PREFIX = 'tw_';
/** 32 random bytes = 256 bits, base64url. */
const KEY_BYTES = 32;
const VISIBLE_PREFIX_LENGTH = KEY_PREFIX.length + 8;
const MIN_KEY_LENGTH = 24;
const MAX_KEY_LENGTH = 256;
/** Every instance forgets a changed key at once, whichever instance changed it. */
const CHANGED_TOPIC = 'auth.keyChanged';
/** Seconds a client is asked to wait when keys cannot be verified. */
export const AUTH_RETRY_AFTER_S = 5;

export const hashKey = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

export interface CreatedKey {
  record: ApiKeyRecord;
  secret: string;
}

export interface ApiKeyServiceOptions {
  /** How long a verified key is trusted before it is looked up again. */
  cacheTtlMs?: number;
  /** How long a verified key keeps working while PostgreSQL is unreachable. */
  staleIfErrorMs?: number;
  /** Failed authentications per client address; none = unlimited. */
  failures?: FailureBudget;
  onOutcome?: (outcome: AuthOutcome) => void;
}

export class ApiKeyService {
  private readonly cache: KeyCache;
  /** When each key was last used (epoch ms), written to PostgreSQL by flushLastUsed. */
  private readonly lastUsed = new Map<string, number>();
  private readonly lookups = new SingleFlight<ApiKeyRecord | null>();
  private readonly confirmations = new WriteCoalescer<string, KeyState | null>(
    async (ids) => {
      // Only ids that can be keys: one malformed id must not fail the batch's statement.
      const asked = [...new Set(ids)].filter(isUuid);
      const states = new Map((await this.repo.currentStates(asked)).map((k) => [k.id, k]));
      return ids.map((id) => states.get(id) ?? null);
    },
    { maxBatch: 1_000, maxConcurrent: 1, retryAlone: () => false },
  );
  private readonly listeners = new Set<(change: KeyChange) => void>();
  /** Ids of unlimited keys this instance has read (the flag never changes once set). */
  private readonly unlimitedKeys = new Set<string>();
  private readonly failures: FailureBudget | undefined;
  private readonly outcome: (outcome: AuthOutcome) => void;
  private readonly log: Logger;
  private unavailableSince: number | undefined;
  private changes: AsyncIterableIterator<KeyChange> | undefined;

  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly bus: EventBus,
    logger: Logger,
    options: ApiKeyServiceOptions = {},
  ) {
    this.log = logger.child({ component: 'api-keys' });
    this.cache = new KeyCache(options.cacheTtlMs ?? 10_000, options.staleIfErrorMs ?? 600_000);
    this.failures = options.failures;
    this.outcome = options.onOutcome ?? (() => undefined);
  }

  async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map([...this.lastUsed].map(([id, at]) => [id, new Date(at)]));
    this.lastUsed.clear();
    try {
      await this.repo.touch(batch);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, keys: batch.size }, 'could not record lastUsedAt');
    }
  }

  /**
   * Resolves a presented key to its principal. Throws UNAUTHENTICATED (bad, unknown or
   * revoked key), RATE_LIMITED (`client` is over its failure budget) or
   * UPSTREAM_UNAVAILABLE (PostgreSQL unreachable and the key not verified recently).
   */
  async verify(secret: string | undefined, client?: string): Promise<Principal> {
    if (!secret)
      throw unauthenticated('An API key is required: send "Authorization: Bearer <key>" or "X-API-Key"');
    if (secret.length < MIN_KEY_LENGTH || secret.length > MAX_KEY_LENGTH) {
      await this.refuseUnknown(client);
      return this.fail(client, 'invalid', 'Invalid API key');
    }
    const hash = this.cache.hashOf(secret) ?? hashKey(secret);
    const principal = await this.verifyHash(hash, client);
    // Links the secret to this verification, so its next requests take verifyFresh.
    this.cache.rememberHash(secret, hash);
    return principal;
  }

  /**
   * The principal of a key verified within the cache lifetime, without I/O (and without
   * hashing: the key remembers its hash); undefined when `verify` must decide.
   */
  verifyFresh(secret: string | undefined): Principal | undefined {
    if (!secret) return undefined;
    const now = Date.now();
    const fresh = this.cache.freshBySecret(secret, now);
    if (fresh) this.lastUsed.set(fresh.keyId, now);
    return fresh;
  }

  /** `verify` for a key known by its hash (open sockets re-check theirs with it). */
  async verifyHash(hash: string, client?: string): Promise<Principal> {
    const fresh = this.cache.fresh(hash);
    if (fresh) return this.admit(fresh);
    if (this.cache.isRevoked(hash)) return this.fail(client, 'revoked', 'This API key has been revoked');
    const known = this.cache.knownGood(hash);
    if (!known) {
      // Checked before anything else so an address over budget costs no lookup.
      await this.refuseUnknown(client);
      if (this.cache.isUnknown(hash)) return this.fail(client, 'invalid', 'Invalid API key');
    }
    let record: ApiKeyRecord | null;
    try {
      record = await this.lookup(hash);
    } catch (err) {
      return this.unavailable(err, known);
    }
    if (this.unavailableSince !== undefined) {
      this.log.info('API keys can be verified again');
      this.unavailableSince = undefined;
    }
    // The index lookup already matched; compare again in constant time so no code
    // path branches on a partial match.
    if (!record || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) {
      this.cache.bad(hash);
      return this.fail(client, 'invalid', 'Invalid API key');
    }
    if (record.revokedAt) {
      this.cache.markRevoked(hash);
      return this.fail(client, 'revoked', 'This API key has been revoked');
    }
    const principal: Principal = {
      keyId: record.id,
      name: record.name,
      role: record.role,
      unlimited: record.unlimited,
      feedsOnly: record.feedsOnly,
    };
    if (record.unlimited) this.unlimitedKeys.add(record.id);
    this.cache.good(hash, principal);
    return this.admit(principal, 'ok');
  }

  /**
   * Asks PostgreSQL (never the cache, never a lookup already in flight) whether the key
   * behind `principal` still holds what it was verified with. Writes call this before
   * they run: a revocation committed anywhere stops every later write on every instance,
   * even before its bus message arrives here. A revoked or changed key is applied as if
   * the message had come (its sockets close) and refused with UNAUTHENTICATED. When
   * PostgreSQL cannot answer, the write is refused with UPSTREAM_UNAVAILABLE (it would
   * meet the same outage itself, and a write half done outside PostgreSQL, a ban sent to
   * CrowdSec and never stored, is worse than none); reads keep the stale-if-error rule.
   * Confirmations asked while one is being read share the next read (never the one in
   * flight, which may have started before the revocation committed): under load, one
   * statement serves many writes.
   */
  async confirm(principal: Principal): Promise<void> {
    let state: KeyState | null;
    try {
      state = await this.confirmations.submit(principal.keyId);
    } catch (err) {
      throw classifyFailure(err) ?? err;
    }
    if (!state || state.revoked) {
      if (state) this.applyChange({ keyId: state.id, hash: state.hash, revoked: true });
      this.outcome('revoked');
      throw unauthenticated('This API key has been revoked');
    }
    if (state.role !== principal.role || state.feedsOnly !== principal.feedsOnly) {
      this.applyChange({ keyId: state.id, hash: state.hash, revoked: false });
      throw unauthenticated('This API key changed; send the request again');
    }
  }

  /**
   * A secret only this key's signed links (export downloads) are made with: derived from
   * its stored hash, the same on every instance. Read from PostgreSQL each time, so a
   * revoked key's links stop at once; undefined for an unknown or revoked key.
   */
  async linkSecretOf(keyId: string): Promise<{ role: Role; secret: Buffer } | undefined> {
    if (!isUuid(keyId)) return undefined;
    const record = await this.repo.findById(keyId);
    if (!record || record.revokedAt) return undefined;
    if (record.unlimited) this.unlimitedKeys.add(record.id);
    const secret = createHmac('sha256', Buffer.from(record.hash, 'hex'))
      .update('threatwire link v1')
      .digest();
    return { role: record.role, secret };
  }

  /** Calls `fn` whenever a key is revoked or changed, here or on another instance. */
  onKeyChange(fn: (change: KeyChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Applies a change learnt from anywhere (this instance, the bus, the poller); idempotent. */
  applyChange(change: KeyChange): void {
    if (change.revoked) {
      this.unlimitedKeys.delete(change.keyId);
      if (this.cache.isRevoked(change.hash)) return;
      this.cache.markRevoked(change.hash);
    } else {
      this.cache.forget(change.hash);
    }
    for (const fn of this.listeners) {
      try {
        fn(change);
      } catch (err) {
        this.log.error({ err }, 'key change listener failed');
      }
    }
  }

  /**
   * Whether the key with this id is unlimited (never rate limited), as far as this
   * instance has read it: every request with it was verified (or its signed link checked)
   * here first, which reads the flag.
   */
  isUnlimited(keyId: string): boolean {
    return this.unlimitedKeys.has(keyId);
  }

  /** Whether this instance already knows the key is revoked. */
  knowsRevoked(hash: string): boolean {
    return this.cache.isRevoked(hash);
  }

  /** Applies the changes other instances publish, until `stopListening()` or the bus closes. */
  listenForChanges(): void {
    const changes = this.bus.subscribe<KeyChange>(CHANGED_TOPIC);
    this.changes = changes;
    void (async () => {
      for await (const change of changes) {
        if (typeof change.hash === 'string' && typeof change.keyId === 'string') this.applyChange(change);
      }
    })();
  }

  async stopListening(): Promise<void> {
    await this.changes?.return?.();
  }

  /** Admits a principal; `outcome` is counted when the cache alone did not decide. */
  private admit(principal: Principal, outcome?: AuthOutcome): Principal {
    if (outcome) this.outcome(outcome);
    this.lastUsed.set(principal.keyId, Date.now());
    return principal;
  }

  private async refuseUnknown(client: string | undefined): Promise<void> {
    if (!this.failures || client === undefined) return;
    const wait = await this.failures.retryAfter(client);
    if (wait <= 0) return;
    this.outcome('rate_limited');
    throw new AppError(
      'RATE_LIMITED',
      `Too many failed authentications from this address; retry in ${wait} s`,
      {
        retryAfterSeconds: wait,
      },
    );
  }

  private async fail(client: string | undefined, outcome: AuthOutcome, message: string): Promise<never> {
    this.outcome(outcome);
    if (this.failures && client !== undefined) {
      await this.failures.record(client).catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'could not count a failed authentication');
      });
    }
    throw unauthenticated(message);
  }

  private unavailable(err: unknown, known: Principal | undefined): Principal {
    if (this.unavailableSince === undefined) {
      this.unavailableSince = Date.now();
      this.log.warn(
        { err: (err as Error).message },
        'API keys cannot be verified: the database is unavailable',
      );
    }
    // Stale-if-error: a key verified recently keeps working through an outage.
    if (known) return this.admit(known, 'stale');
    this.outcome('unavailable');
    throw upstreamUnavailable(
      'API keys cannot be verified right now (the database is unavailable); retry later',
      {
        retryAfterSeconds: AUTH_RETRY_AFTER_S,
      },
    );
  }

  /** One lookup per hash at a time: a burst of requests with one key shares it. */
  private lookup(hash: string): Promise<ApiKeyRecord | null> {
    return this.lookups.run(hash, () => this.repo.findByHash(hash));
  }

  /**
   * A new key; `unlimited` keys are never rate limited (the resolver allows it to ADMIN
   * only), `feedsOnly` keys read the feeds and are refused by the GraphQL API.
   */
  async create(
    name: string,
    role: Role,
    opts: { unlimited?: boolean; feedsOnly?: boolean } = {},
  ): Promise<CreatedKey> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > 100) throw badInput('name must be 1–100 characters');
    if ([...trimmed].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      throw badInput('name must not contain control characters');
    return this.insertNew(this.repo, trimmed, role, opts.unlimited ?? false, opts.feedsOnly ?? false);
  }

  /** A fresh random key stored by `repo` (only its hash); the secret is returned once. */
  private async insertNew(
    repo: ApiKeyRepository,
    name: string,
    role: Role,
    unlimited = false,
    feedsOnly = false,
  ): Promise<CreatedKey> {
    const secret = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    const record = await repo.create({
      name,
      role,
      prefix: secret.slice(0, VISIBLE_PREFIX_LENGTH),
      hash: hashKey(secret),
      unlimited,
      feedsOnly,
    });
    this.cache.forget(record.hash);
    this.log.info({ keyId: record.id, name, role, unlimited, feedsOnly }, 'api key created');
    return { record, secret };
  }

  /**
   * Returns false when the key was already revoked. Sockets holding the key close at
   * once here, on other instances through the bus, or by their revocation poller when
   * the bus message is lost (the revocation is in PostgreSQL either way).
   */
  async revoke(id: string): Promise<boolean> {
    if (!isUuid(id)) throw badInput('id must be an API key id (UUID)');
    const record = await this.repo.findById(id);
    if (!record) throw notFound(`No API key with id ${id}`);
    const changed = await this.repo.revoke(id);
    const change: KeyChange = { keyId: id, hash: record.hash, revoked: true };
    this.applyChange(change);
    try {
      await this.bus.publish(CHANGED_TOPIC, change);
    } catch (err) {
      // The key is revoked: other instances' pollers find it in PostgreSQL.
      this.log.warn({ keyId: id, err: (err as Error).message }, 'could not publish a key revocation');
    }
    if (changed) this.log.info({ keyId: id }, 'api key revoked');
    return changed;
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
          this.cache.forget(hash);
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
