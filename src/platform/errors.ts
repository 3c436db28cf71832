/**
 * Domain errors carry a stable code that clients can branch on (docs/architecture.md, "Errors"). They are mapped to GraphQL
 * `extensions.code` in one place: src/graphql/error-mapping.ts.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const unauthenticated = (message: string) => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', `Rate limit exceeded; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
export const upstreamUnavailable = (message: string, details?: Record<string, unknown>) =>
  new AppError('UPSTREAM_UNAVAILABLE', message, details);
