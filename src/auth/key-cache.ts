import { LRUCache } from 'lru-cache';
import type { Principal } from './api-key-types.js';

/** Most keys each part of the cache remembers; beyond it the least recently used go. */
const MAX_ENTRIES = 10_000;
/** An unknown key is answered from memory this long before PostgreSQL is asked again. */
export const NEGATIVE_TTL_MS = 60_000;

interface Verified {
  principal: Principal;
  verifiedAt: number;
}

/**
 * What one instance knows about presented keys, by SHA-256 hash:
 * - verified keys: fresh for `freshMs` (no lookup), then still "known good" for
 *   `staleMs` (served when PostgreSQL is unreachable, and exempt from the per-address
 *   failure budget: only someone holding a valid key can present one);
 * - unknown keys (negative cache): a flood of one bad key costs one lookup per minute;
 * - revoked keys: never served again, not even stale;
 * - the hash of each presented secret that verified, by the secret, for as long as
 *   its verification is remembered: a key in use is not hashed again on every request.
 *   It only saves the hashing; what the key may do is still decided by hash above, so
 *   a revocation stops it at once.
 */
export class KeyCache {
  private readonly verified: LRUCache<string, Verified>;
  private readonly unknown = new LRUCache<string, true>({ max: MAX_ENTRIES, ttl: NEGATIVE_TTL_MS });
  private readonly revoked = new LRUCache<string, true>({ max: MAX_ENTRIES });
  private readonly hashes: LRUCache<string, string>;

  constructor(
    private readonly freshMs: number,
    private readonly staleMs: number,
  ) {
    this.verified = new LRUCache({ max: MAX_ENTRIES, ttl: Math.max(freshMs, staleMs) });
    this.hashes = new LRUCache({ max: MAX_ENTRIES, ttl: Math.max(freshMs, staleMs) });
  }

  /** The hash of a secret that verified recently (see rememberHash). */
  hashOf(secret: string): string | undefined {
    return this.hashes.get(secret);
  }

  /** Remembers the hash of a secret that just verified (never of one that did not). */
  rememberHash(secret: string, hash: string): void {
    this.hashes.set(secret, hash);
  }

  /** The principal when verified less than `freshMs` ago. */
  fresh(hash: string): Principal | undefined {
    const v = this.verified.get(hash);
    return v && Date.now() - v.verifiedAt < this.freshMs ? v.principal : undefined;
  }

  /** The principal when verified within the stale window (fresh or not). */
  knownGood(hash: string): Principal | undefined {
    const v = this.verified.get(hash);
    return v && Date.now() - v.verifiedAt < Math.max(this.freshMs, this.staleMs) ? v.principal : undefined;
  }

  isUnknown(hash: string): boolean {
    return this.unknown.has(hash);
  }

  isRevoked(hash: string): boolean {
    return this.revoked.has(hash);
  }

  good(hash: string, principal: Principal): void {
    this.unknown.delete(hash);
    this.verified.set(hash, { principal, verifiedAt: Date.now() });
  }

  bad(hash: string): void {
    this.verified.delete(hash);
    this.unknown.set(hash, true);
  }

  markRevoked(hash: string): void {
    this.verified.delete(hash);
    this.revoked.set(hash, true);
  }

  /** Forget what we know (a key changed elsewhere): the next use looks it up. */
  forget(hash: string): void {
    this.verified.delete(hash);
    this.unknown.delete(hash);
  }
}
