/**
 * Turns failures of our own infrastructure into domain errors with a stable code:
 * PostgreSQL or Redis unreachable, frozen or restarting → UPSTREAM_UNAVAILABLE (the
 * client should retry later), and data PostgreSQL refuses (a value out of range, text it
 * cannot encode) → BAD_USER_INPUT. Validators should catch bad data first; this is the
 * net under them, so no such failure is ever reported as an internal error.
 *
 * Driver errors arrive wrapped (Prisma's driver adapter, pg-pool, ioredis); the chain of
 * `cause`/`originalError`/adapter metadata is walked and every code and message seen
 * is matched.
 */
import { AppError } from './errors.js';

/** Seconds a client is asked to wait before retrying an unavailable dependency. */
export const DEPENDENCY_RETRY_AFTER_S = 5;

/** Socket-level failures of any client. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs meaning "the server cannot serve this now": connection exceptions
 * (08), operator intervention (57: shutdown, restart, statement timeout), insufficient
 * resources (53), and serialisation/deadlock conflicts a retry resolves (40001, 40P01).
 */
const PG_UNAVAILABLE = /^(08...|57P0[1-4]|57014|53...|40001|40P01)$/;
/**
 * SQLSTATEs for data the client sent: data exceptions (22: out of range, bad encoding,
 * invalid text representation, datetime overflow) and statements too complex (54001).
 */
const PG_BAD_DATA = /^(22...|54001)$/;

/** Prisma's own codes for an unreachable or closed database, and a pool timeout. */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** Prisma's driver-adapter kinds for the same. */
const ADAPTER_UNAVAILABLE = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
]);

const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /Client has encountered a connection error/i,
  /Connection is closed/i, // ioredis
  /Stream isn't writeable/i, // ioredis, offline queue disabled
  /Reached the max retries per request limit/i, // ioredis
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /Can't reach database server/i,
];

export function classifyFailure(err: unknown): AppError | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  let badData: string | undefined;
  while (queue.length > 0 && seen.size < 20) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as Record<string, unknown>;
    const code = typeof o.code === 'string' ? o.code : undefined;
    const originalCode = typeof o.originalCode === 'string' ? o.originalCode : undefined;
    const kind = typeof o.kind === 'string' ? o.kind : undefined;
    const message = typeof o.message === 'string' ? o.message : '';
    const sqlState = [code, originalCode].find((c) => c !== undefined && /^[0-9A-Z]{5}$/.test(c));
    if (
      (code && (NETWORK_CODES.has(code) || PRISMA_UNAVAILABLE.has(code))) ||
      (sqlState && PG_UNAVAILABLE.test(sqlState)) ||
      (kind && ADAPTER_UNAVAILABLE.has(kind)) ||
      o.name === 'MaxRetriesPerRequestError' ||
      UNAVAILABLE_MESSAGES.some((re) => re.test(message))
    ) {
      return unavailable(sqlState === '57014' ? 'statement timeout' : undefined);
    }
    if (sqlState && PG_BAD_DATA.test(sqlState)) badData ??= message;
    for (const key of ['cause', 'originalError', 'meta', 'driverAdapterError', 'error']) {
      if (key in o) queue.push(o[key]);
    }
  }
  if (badData !== undefined) {
    return new AppError('BAD_USER_INPUT', `The database refused a value in this request: ${trim(badData)}`);
  }
  return undefined;
}

function unavailable(reason: string | undefined): AppError {
  return new AppError(
    'UPSTREAM_UNAVAILABLE',
    reason === 'statement timeout'
      ? 'A database query took longer than the configured statement timeout; narrow the request or retry later'
      : 'A storage dependency (PostgreSQL or Redis) is unavailable; retry later',
    { retryAfterSeconds: DEPENDENCY_RETRY_AFTER_S, dependency: 'storage' },
  );
}

/** Driver messages are safe to show (they name the value's problem, not the server), but keep them short. */
function trim(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
