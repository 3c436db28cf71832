import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError } from '../platform/errors.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { Logger } from '../platform/logger.js';

/**
 * The one place where errors become GraphQL errors, for both transports and for
 * Fastify's own request errors: domain errors keep their code and details; failures of
 * PostgreSQL or Redis become UPSTREAM_UNAVAILABLE (or BAD_USER_INPUT for data the
 * database refused); GraphQL's own request errors keep a documented code; anything
 * else is masked with a correlation id that also appears in the log. Every code that
 * leaves is a value of `ErrorCode` in schema.graphql; no stack traces leave.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const original = originalOf(error);
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

  const domain = original instanceof AppError ? original : classifyFailure(original);
  // An internal error is logged and masked like any unexpected one, whoever labelled it.
  if (domain && domain.code !== 'INTERNAL_SERVER_ERROR') {
    if (domain !== original && domain.code === 'UPSTREAM_UNAVAILABLE') {
      logger.warn({ err: describe(original), path: formatted.path }, 'dependency unavailable');
    }
    return { ...base, message: domain.message, extensions: { ...domain.details, code: domain.code } };
  }
  if (isGraphQLError(original)) {
    const {
      stacktrace: _drop,
      http: _http,
      ...extensions
    } = (formatted.extensions ?? {}) as Record<string, unknown>;
    // Query limits are the caller's fault like any bad input; Apollo would label them
    // GRAPHQL_VALIDATION_FAILED, and graphql-js reports the token limit as a syntax error.
    if (typeof extensions.limit === 'string')
      return { ...base, extensions: { ...extensions, code: 'BAD_USER_INPUT' } };
    // Apollo fills in INTERNAL_SERVER_ERROR where the thrower gave no code; its own request
    // errors without a code (a persisted-query hash or version mismatch) carry a 4xx status.
    const own = (original.extensions as { code?: unknown; http?: { status?: unknown } } | undefined) ?? {};
    const status = typeof own.http?.status === 'number' ? own.http.status : 0;
    // graphql-js's own request errors (a variable of the wrong type, over graphql-ws where
    // Apollo does not label them) have neither a cause nor a path: the caller's input.
    // With a path and no cause (a null in a non-null field) it is our bug, and masked.
    const requestError = !original.originalError && !original.path;
    const code =
      typeof own.code === 'string'
        ? own.code
        : (status >= 400 && status < 500) || requestError
          ? 'BAD_REQUEST'
          : 'NONE';
    if (code === 'GRAPHQL_PARSE_FAILED' && /more tha[nt] \d+ tokens/.test(formatted.message)) {
      return { ...base, extensions: { ...extensions, code: 'BAD_USER_INPUT', limit: 'maxTokens' } };
    }
    const documented = REQUEST_CODES[code];
    if (documented) return { ...base, extensions: { ...extensions, code: documented } };
  }
  return masked(original, logger, base);
}

/**
 * GraphQL-over-HTTP request errors (Apollo's and graphql-js's) under the codes clients
 * see. Apollo's BAD_REQUEST (a malformed request, a mutation over GET) and
 * OPERATION_RESOLUTION_FAILURE (an operationName not in the document) are bad input
 * like any other; the rest keep their names, which Apollo's clients rely on.
 */
const REQUEST_CODES: Record<string, string> = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
};

/** The masked form of an unexpected error; the correlation id links the answer to the log line. */
export function masked(
  error: unknown,
  logger: Logger,
  base: Pick<GraphQLFormattedError, 'locations' | 'path'> = {},
): GraphQLFormattedError {
  const correlationId = randomUUID();
  logger.error({ correlationId, err: describe(error), path: base.path }, 'unexpected error');
  return {
    locations: base.locations,
    path: base.path,
    message: `Internal server error (correlation id ${correlationId})`,
    extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
  };
}

function describe(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function originalOf(error: unknown): unknown {
  let current = error;
  // Resolver errors arrive wrapped in a located GraphQLError; unwrap to the thrower's error.
  // A GraphQLError with a code of its own (Apollo's parse and validation errors wrap
  // graphql-js's) is the error to report.
  while (isGraphQLError(current) && current.originalError && typeof current.extensions.code !== 'string')
    current = current.originalError;
  return current;
}

/**
 * Structural check: graphql-js can be loaded twice (its CommonJS and ESM builds), and
 * then `instanceof` fails for errors created by the other copy; Apollo's request errors
 * are GraphQLError subclasses with names of their own (BadRequestError, …).
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return (
    e instanceof GraphQLError ||
    (e instanceof Error && 'extensions' in e && typeof e.extensions === 'object' && e.extensions !== null)
  );
}

/** For transport code that must produce a GraphQLError itself (context creation, limits). */
export function toGraphQLError(
  err: AppError,
  httpStatus?: number,
  headers?: Record<string, string>,
): GraphQLError {
  return new GraphQLError(err.message, {
    originalError: err,
    extensions: {
      ...err.details,
      code: err.code,
      ...(httpStatus
        ? { http: { status: httpStatus, headers: new Map(Object.entries(headers ?? {})) } }
        : {}),
    },
  });
}

/** HTTP status for a request that failed as a whole with `code`. */
export function httpStatusOf(code: string): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'RATE_LIMITED':
      return 429;
    case 'UPSTREAM_UNAVAILABLE':
      return 503;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
    default:
      return 400;
  }
}
