import { performance } from 'node:perf_hooks';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { poolTypes } from './pg-timestamps.js';
import type { Config } from '../config.js';
import { migrate } from './db-migrator.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import type { Logger } from './logger.js';
import { PrismaClient } from './prisma-client/client.js';

export interface Database {
  prisma: PrismaClient;
  /** The same pool Prisma uses; for hot bulk paths with raw SQL (docs/architecture.md). */
  pool: pg.Pool;
  mode: 'external' | 'embedded';
  /** Connection URL with the password redacted: safe for logs and health output. */
  url: string;
  /** Round-trip latency of a trivial query, in milliseconds. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export class DatabaseConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseConnectionError';
  }
}

/** Replaces the password (user-info or `password=` parameter) with `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return '[unparseable database URL]';
  }
}

/**
 * Session settings of the application's connections. No JIT compilation: the statistics
 * queries' estimated costs pass PostgreSQL's JIT threshold on large rollups, and
 * compiling then costs 25 ms and more per query, longer than running it.
 */
export const SESSION_OPTIONS = '-c jit=off';

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const log = logger.child({ component: 'database' });
  let embedded: EmbeddedPostgres | undefined;
  let url = config.database.url;
  if (url === undefined) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.database.embeddedPort,
      logger,
    });
    url = embedded.url;
  }
  const mode = embedded ? 'embedded' : 'external';
  const safeUrl = redactUrl(url);
  const { statementTimeoutMs, connectTimeoutMs } = config.database;
  // Migrations may rewrite large tables: they run on a connection of their own, without
  // the statement timeout every request is held to.
  const migrationPool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: 'threatwire-migrate',
  });
  const pool = new pg.Pool({
    connectionString: url,
    max: config.database.poolSize,
    // A stopped server fails fast; a frozen one (no answer at all) is given up on by the
    // client a little after the server's own statement timeout would have fired.
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 5_000,
    options: SESSION_OPTIONS,
    application_name: 'threatwire',
    types: poolTypes,
  });
  // An idle client dying (server restart, network blip) must not crash the process;
  // the pool replaces it on the next checkout.
  pool.on('error', (err) => log.warn({ err }, 'idle database connection failed'));
  migrationPool.on('error', () => undefined);

  try {
    await checkReachable(migrationPool, url);
    await migrate(migrationPool, { logger });
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw err;
  } finally {
    await migrationPool.end().catch(() => undefined);
  }
  // Sharing the pool keeps one connection budget for Prisma and raw SQL; the adapter
  // leaves an external pool open on dispose, so close() ends it below.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  log.info({ mode, url: safeUrl, poolSize: config.database.poolSize }, 'database ready');

  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    mode,
    url: safeUrl,
    async ping() {
      const started = performance.now();
      await pool.query('SELECT 1');
      return Math.round((performance.now() - started) * 100) / 100;
    },
    close() {
      closing ??= (async () => {
        await prisma.$disconnect().catch((err: unknown) => log.warn({ err }, 'prisma disconnect failed'));
        await pool.end().catch((err: unknown) => log.warn({ err }, 'closing the pool failed'));
        await embedded?.stop();
      })();
      return closing;
    },
  };
}

/** Turns the first connection failure into a message naming the server, never the password. */
async function checkReachable(pool: pg.Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw new DatabaseConnectionError(`Cannot use PostgreSQL at ${describeTarget(url)}: ${explain(err)}`, {
      cause: err,
    });
  }
}

function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname || 'localhost'}:${u.port || '5432'}, database ${db}`;
  } catch {
    return redactUrl(url);
  }
}

const KNOWN_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running and listening there?)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name not found',
  ETIMEDOUT: 'connection timed out',
  '28P01': 'authentication failed (check the user and password in DATABASE_URL)',
  '28000': 'authentication failed (check the user and password in DATABASE_URL)',
  '3D000': 'the database does not exist (create it first)',
  '57P03': 'the server is starting up or shutting down; try again',
};

function explain(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const known = KNOWN_ERRORS[code];
  if (known) return known;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  // Never echo a message that might carry the password back from a driver.
  return message.replace(/:\/\/([^:@/]+):[^@/]+@/g, '://$1:***@');
}

/** Runs `work` in one transaction on a pooled connection: COMMIT when it resolves, ROLLBACK when it throws. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
