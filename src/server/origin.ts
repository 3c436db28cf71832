import type { IncomingHttpHeaders } from 'node:http';

/**
 * The CORS allow-list, also applied to WebSocket upgrades (browsers do not enforce
 * CORS on WebSockets). No Origin header = not a browser = allowed. An empty list means
 * "only the server's own origin"; "*" allows every origin.
 */
export function createOriginPolicy(allowList: readonly string[], publicUrl: string | undefined) {
  const allowed = new Set(allowList);
  const ownOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  return {
    isAllowed(origin: string | undefined, headers: IncomingHttpHeaders, encrypted: boolean): boolean {
      if (!origin) return true;
      if (allowed.has('*') || allowed.has(origin)) return true;
      if (allowed.size > 0) return false;
      if (ownOrigin) return origin === ownOrigin;
      const host = headers.host;
      return (
        host !== undefined && (origin === `http://${host}` || (encrypted && origin === `https://${host}`))
      );
    },
  };
}

export type OriginPolicy = ReturnType<typeof createOriginPolicy>;

/** The API key from `Authorization: Bearer <key>` or `X-API-Key`. */
export function apiKeyFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return match?.[1] ?? auth;
  }
  const header = headers['x-api-key'];
  return Array.isArray(header) ? header[0] : header;
}
