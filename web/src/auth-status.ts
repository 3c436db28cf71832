/** What the page knows about the API key, from the server's last answer. */
export type AuthStatus = 'unknown' | 'accepted' | 'rejected';

/** graphql-ws close codes the server uses for a missing or bad key at connection_init. */
export const authCloseCodes: ReadonlySet<number> = new Set([4401, 4403]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** True when a GraphQL response carries an error with extensions.code UNAUTHENTICATED. */
export function hasUnauthenticatedError(body: unknown): boolean {
  if (!isRecord(body) || !Array.isArray(body.errors)) return false;
  return body.errors.some(
    (error: unknown) =>
      isRecord(error) && isRecord(error.extensions) && error.extensions.code === 'UNAUTHENTICATED',
  );
}
