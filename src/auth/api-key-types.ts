import type { Page } from '../platform/page.js';
import type { Role } from './roles.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  hash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** Never rate limited (set by an ADMIN when the key is created). */
  unlimited: boolean;
  /** Reads the feeds only, never the GraphQL API (set when the key is created). */
  feedsOnly: boolean;
}

/** What `apiKeys` serves (GraphQL `ApiKeyConnection`). */
export type ApiKeyPage = Page<ApiKeyRecord>;

/** Who is calling: attached to every GraphQL context. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
  /** Requests with this key are not rate limited. */
  unlimited: boolean;
  /** The key reads /feeds/* only: the GraphQL API refuses it. */
  feedsOnly: boolean;
}

/** A key was revoked (or otherwise changed): whoever holds it must look again. */
export interface KeyChange {
  keyId: string;
  hash: string;
  revoked: boolean;
}

/** How one verification ended, for the auth metric. */
export type AuthOutcome = 'ok' | 'stale' | 'invalid' | 'revoked' | 'rate_limited' | 'unavailable';
