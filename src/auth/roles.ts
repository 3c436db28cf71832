export const ROLES = ['READER', 'INGESTOR', 'ANALYST', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** READER < INGESTOR < ANALYST < ADMIN; a role grants everything below it. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** What the GraphQL API answers a key created with `feedsOnly` (FORBIDDEN). */
export const FEEDS_ONLY_MESSAGE =
  'This API key reads the feeds (/feeds/*) only; use a key created without feedsOnly for the GraphQL API';
