export const ROLES = ['READER', 'INGESTOR', 'ANALYST', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** READER < INGESTOR < ANALYST < ADMIN; a role grants everything below it. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
