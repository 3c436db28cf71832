import { LRUCache } from 'lru-cache';
import type { Principal } from './api-key-types.js';

/** Most keys each part of the cache remembers; beyond it the least recently used go. */
const MAX_ENTRIES = 10_000;
/** An unknown key is answered from memory this long before PostgreSQL is asked again. */
export const NEGATIVE_TTL_MS = 60_000;

interface Verified {
  principal: Principal;
  verifiedAt: number;
  /** False once this verification is replaced or forgotten (revoked, changed, evicted). */
  current: boolean;
}

/** What a presented secret is remembered by: its hash, and the verification it last had. */
interface BySecret {
  hash: string;
  verified: Verified | undefined;
  /** Forgotten from then on (epoch ms): as long as a verification is remembered. */
  until: number;
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
 *   The secret's entry also points at its hash's current verification, so a key in use
 *   costs one lookup per request (`freshBySecret`); a verification that is replaced,
 *   forgotten or revoked is marked so at once, and the next request decides by hash
 *   again. A revocation stops the key at once.
 */
export class KeyCache {
  private readonly verified: LRUCache<string, Verified>;
  private readonly unknown = new LRUCache<string, true>({ max: MAX_ENTRIES, ttl: NEGATIVE_TTL_MS });
  private readonly revoked = new LRUCache<string, true>({ max: MAX_ENTRIES });
  /**
   * By secret, oldest verification first (a secret that verifies again moves to the end):
   * a plain map, because this is the lookup every request makes, and an LRU's upkeep on
   * each read was a measurable part of the smallest request's CPU.
   */
  private readonly secrets = new Map<string, BySecret>();

  constructor(
    private readonly freshMs: number,
    private readonly staleMs: number,
  ) {
    this.verified = new LRUCache<string, Verified>({
      max: MAX_ENTRIES,
      ttl: Math.max(freshMs, staleMs),
      // Replaced, deleted, evicted or expired: secrets pointing at it look again.
      dispose: (v) => {
        v.current = false;
      },
    });
  }

  /** The hash of a secret that verified recently (see rememberHash). */
  hashOf(secret: string): string | undefined {
    const entry = this.secrets.get(secret);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.hash;
    this.secrets.delete(secret);
    return undefined;
  }

  /**
   * Remembers the hash of a secret that just verified (never of one that did not), with
   * the verification it matched.
   */
  rememberHash(secret: string, hash: string): void {
    const until = Date.now() + Math.max(this.freshMs, this.staleMs);
    this.secrets.delete(secret);
    this.secrets.set(secret, { hash, verified: this.verified.get(hash), until });
    if (this.secrets.size > MAX_ENTRIES) {
      const oldest = this.secrets.keys().next();
      if (!oldest.done) this.secrets.delete(oldest.value);
    }
  }

  /**
   * The principal of a secret whose verification is fresh at `now`, in one lookup; else
   * undefined. (A fresh verification is younger than the secret's entry, so `until` needs
   * no check here.)
   */
  freshBySecret(secret: string, now: number): Principal | undefined {
    const v = this.secrets.get(secret)?.verified;
    return v?.current && now - v.verifiedAt < this.freshMs ? v.principal : undefined;
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
    this.verified.set(hash, { principal, verifiedAt: Date.now(), current: true });
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
