import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';

/**
 * The one place where errors become GraphQL errors (house rule 6): domain errors keep
 * their code and details; GraphQL's own request errors keep theirs; anything else is
 * masked with a correlation id that also appears in the log. No stack traces leave.
 */
export function formatGraphQLError(
  formatted: GraphQLFormattedError,
  error: unknown,
  logger: Logger,
): GraphQLFormattedError {
  const original = originalOf(error);
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };

  if (original instanceof AppError) {
    return { ...base, message: original.message, extensions: { ...original.details, code: original.code } };
  }
  if (isGraphQLError(original)) {
    const { stacktrace: _drop, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    const code = typeof extensions.code === 'string' ? extensions.code : 'GRAPHQL_VALIDATION_FAILED';
    // Query limits are the caller's fault like any bad input; Apollo would label them
    // GRAPHQL_VALIDATION_FAILED, and graphql-js reports the token limit as a syntax error.
    if (typeof extensions.limit === 'string')
      return { ...base, extensions: { ...extensions, code: 'BAD_USER_INPUT' } };
    if (code === 'GRAPHQL_PARSE_FAILED' && /more tha[nt] \d+ tokens/.test(formatted.message)) {
      return { ...base, extensions: { ...extensions, code: 'BAD_USER_INPUT', limit: 'maxTokens' } };
    }
    if (code !== 'INTERNAL_SERVER_ERROR') return { ...base, extensions: { ...extensions, code } };
  }

  const correlationId = randomUUID();
  logger.error(
    {
      correlationId,
      err: original instanceof Error ? original : new Error(String(original)),
      path: formatted.path,
    },
    'unexpected error',
  );
  return {
    ...base,
    message: `Internal server error (correlation id ${correlationId})`,
    extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
  };
}

function originalOf(error: unknown): unknown {
  let current = error;
  // Resolver errors arrive wrapped in a located GraphQLError; unwrap to the thrower's error.
  while (isGraphQLError(current) && current.originalError) current = current.originalError;
  return current;
}

/**
 * Structural check: graphql-js can be loaded twice (its CommonJS and ESM builds), and
 * then `instanceof` fails for errors created by the other copy.
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError' && 'extensions' in e);
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
