import type { GraphQLResponse } from '@apollo/server';
import {
  GraphQLError,
  OperationTypeNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import type { GraphQLContext } from '../graphql/context.js';
import { toGraphQLError } from '../graphql/error-mapping.js';
import { AppError } from '../platform/errors.js';
import { DEPENDENCY_RETRY_AFTER_S } from '../platform/failure-classifier.js';

/**
 * Deepest bracket nesting accepted in a query document before it is parsed. graphql-js
 * parses list and object literals recursively and has no depth option: a literal nested
 * a few thousand deep (well under the token limit) overflows the stack. Selection depth
 * is limited separately, after parsing (query-limits.ts).
 */
export const MAX_DOCUMENT_NESTING = 64;

/** The deepest `[`/`{`/`(` nesting outside string literals and comments (a cheap pre-parse scan). */
export function documentNesting(source: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x22 /* " */) {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length; i++) {
          const d = source.charCodeAt(i);
          if (d === 0x5c /* \ */) i++;
          else if (d === 0x22 || d === 0x0a) break;
        }
      }
    } else if (c === 0x23 /* # */) {
      while (i < source.length && source.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x5b || c === 0x7b || c === 0x28) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d || c === 0x29) {
      depth--;
    }
  }
  return max;
}

/** A BAD_USER_INPUT error when `source` nests deeper than the bound, else null. */
export function nestingError(source: unknown): GraphQLError | null {
  // Nesting deeper than the bound takes more brackets than a shorter text holds.
  if (typeof source !== 'string' || source.length <= MAX_DOCUMENT_NESTING) return null;
  if (documentNesting(source) <= MAX_DOCUMENT_NESTING) return null;
  return new GraphQLError(`The document nests brackets more than ${MAX_DOCUMENT_NESTING} levels deep`, {
    extensions: { code: 'BAD_USER_INPUT', limit: 'maxNesting', http: { status: 400 } },
  });
}

/**
 * The nesting error of an HTTP request's document (POST body or GET parameter), checked
 * before Apollo parses it; graphql-ws applies `nestingError` itself before its own parse.
 */
export function requestNestingError(req: { body?: unknown; query?: unknown }): GraphQLError | null {
  const body = req.body as { query?: unknown } | null | undefined;
  const params = req.query as { query?: unknown } | null | undefined;
  return nestingError(body?.query) ?? nestingError(params?.query);
}

/** Subscriptions are served only over WebSocket: one over HTTP is refused (400). */
export function refuseOverHttp(operation: OperationDefinitionNode | undefined): void {
  if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
    throw new GraphQLError(
      'Subscriptions are served over WebSocket (graphql-ws) at the same path, not over HTTP',
      { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
    );
  }
}

/**
 * A mutation runs only for a key PostgreSQL still holds current (ApiKeyService.confirm):
 * a key revoked on another instance writes nothing more, even before the revocation's
 * bus message arrives here. Refused with UNAUTHENTICATED (HTTP 401), or UPSTREAM_UNAVAILABLE
 * (503 with Retry-After) when PostgreSQL cannot answer. Reads keep the cached
 * verification (at most the key cache's lifetime, and closed at once by the bus).
 */
export async function confirmWriter(
  operation: OperationDefinitionNode | undefined,
  context: Pick<GraphQLContext, 'principal' | 'services'>,
): Promise<void> {
  if (operation?.operation !== OperationTypeNode.MUTATION) return;
  try {
    await context.services.apiKeys.confirm(context.principal);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.code === 'UNAUTHENTICATED') throw toGraphQLError(err, 401, { 'www-authenticate': 'Bearer' });
    const after = err.details.retryAfterSeconds;
    const seconds = typeof after === 'number' ? Math.ceil(after) : DEPENDENCY_RETRY_AFTER_S;
    throw toGraphQLError(err, 503, { 'retry-after': String(seconds) });
  }
}

/**
 * A request that failed as a whole because PostgreSQL or Redis is unavailable answers
 * HTTP 503 with Retry-After (a load balancer or client retries it), not 200 with an error.
 * Only our own storage: an unconfigured or unreachable CrowdSec LAPI is an answer about
 * that integration, not about this server's availability.
 */
export function answerUnavailable(
  response: GraphQLResponse,
  errors: readonly GraphQLFormattedError[] | undefined,
): void {
  if (response.body.kind !== 'single' || !errors) return;
  const data = response.body.singleResult.data;
  if (data !== null && data !== undefined) return;
  const unavailable = errors.find(
    (e) => e.extensions?.code === 'UPSTREAM_UNAVAILABLE' && e.extensions.dependency === 'storage',
  );
  if (!unavailable) return;
  const after = unavailable.extensions?.retryAfterSeconds;
  response.http.status = 503;
  response.http.headers.set(
    'retry-after',
    String(typeof after === 'number' ? Math.ceil(after) : DEPENDENCY_RETRY_AFTER_S),
  );
}
