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
}

/** Who is calling: attached to every GraphQL context. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}
