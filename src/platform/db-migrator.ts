import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from './logger.js';
import { fromRoot } from './paths.js';

/**
 * Applies prisma/migrations/<name>/migration.sql at start-up. Prisma's schema engine
 * (which `prisma migrate deploy` needs) cannot be downloaded in our environments, so
 * this does the same job and keeps the bookkeeping table byte-compatible with it:
 * `prisma migrate status/deploy` run elsewhere see the same history.
 */

/** Prisma's own advisory-lock key, so our migrator and `prisma migrate deploy` serialise. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = fromRoot('prisma', 'migrations');

// Prisma's DDL for its bookkeeping table on PostgreSQL (same names, types and defaults).
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  name: string;
  script: string;
  /** sha256 hex of the file's bytes: what Prisma stores in `checksum`. */
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  started_at: Date;
}

export function checksumOf(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex');
}

/**
 * Like Prisma, accept a checksum taken before git converted line endings (CRLF <-> LF),
 * so a Windows checkout does not look like a tampered migration.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const lf = script.replace(/\r\n/g, '\n');
  const variants = [script, lf, lf.replace(/\n/g, '\r\n')];
  return variants.some((v) => checksumOf(v) === checksum);
}

export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw new MigrationError(`Cannot read the migrations directory ${dir}`, undefined, { cause: err });
  });
  // Prisma orders migrations by directory name (the timestamp prefix), byte-wise.
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(dir, name, 'migration.sql')).catch((err: unknown) => {
        throw new MigrationError(`Migration ${name} has no readable migration.sql`, name, { cause: err });
      });
      return { name, script: bytes.toString('utf8'), checksum: checksumOf(bytes) };
    }),
  );
}

export async function migrate(
  pool: pg.Pool,
  opts: { dir?: string; logger: Logger; lockTimeoutMs?: number },
): Promise<{ applied: string[] }> {
  const log = opts.logger.child({ component: 'db-migrator' });
  const migrations = await readMigrations(opts.dir ?? DEFAULT_MIGRATIONS_DIR);
  // One session holds the lock for the whole run; it is released on unlock or when the
  // connection dies, so a crashed instance never leaves it behind.
  const client = await pool.connect();
  let locked = false;
  try {
    await acquireLock(client, opts.lockTimeoutMs ?? 300_000, log);
    locked = true;
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<MigrationRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at, logs, started_at
         FROM "_prisma_migrations" ORDER BY started_at`,
    );
    const pending = plan(migrations, rows, log);
    const applied: string[] = [];
    for (const m of pending) {
      await applyOne(client, m, log);
      applied.push(m.name);
    }
    if (applied.length > 0) log.info({ applied }, 'database migrations applied');
    else log.debug({ total: migrations.length }, 'database schema is up to date');
    return { applied };
  } finally {
    if (locked) {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
    client.release();
  }
}

async function acquireLock(client: pg.PoolClient, timeoutMs: number, log: Logger): Promise<void> {
  // Polling try-lock rather than a blocking pg_advisory_lock: we can report that we are
  // waiting for another instance and give up with a clear error instead of hanging.
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
      PRISMA_ADVISORY_LOCK_KEY,
    ]);
    if (rows[0]?.ok) return;
    if (!warned) {
      log.info('another instance is migrating the database; waiting for its advisory lock');
      warned = true;
    }
    if (Date.now() > deadline) {
      throw new MigrationError(
        `Timed out after ${timeoutMs} ms waiting for the migration lock (pg advisory lock ${PRISMA_ADVISORY_LOCK_KEY}); another instance or \`prisma migrate\` holds it`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Checks the recorded history against the files and returns what still has to run. */
function plan(files: MigrationFile[], rows: MigrationRow[], log: Logger): MigrationFile[] {
  const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    const reason = (failed.logs ?? 'no log recorded').split('\n')[0];
    throw new MigrationError(
      `Migration ${failed.migration_name} failed earlier (started ${failed.started_at.toISOString()}: ${reason}) ` +
        `and is not resolved. Repair the database by hand, then mark it rolled back with ` +
        `\`prisma migrate resolve --rolled-back ${failed.migration_name}\` or ` +
        `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${failed.migration_name}' AND finished_at IS NULL;`,
      failed.migration_name,
    );
  }
  const done = new Map<string, MigrationRow>();
  for (const r of rows)
    if (r.finished_at !== null && r.rolled_back_at === null) done.set(r.migration_name, r);

  const byName = new Map(files.map((f) => [f.name, f]));
  for (const [name, row] of done) {
    const file = byName.get(name);
    if (!file) {
      // An older build running against a newer database (e.g. during a rollback): not
      // fatal, but worth knowing.
      log.warn({ migration: name }, 'database has a migration that is not in the migrations directory');
    } else if (!scriptMatchesChecksum(file.script, row.checksum)) {
      throw new MigrationError(
        `Migration ${name} was modified after it was applied (checksum ${row.checksum} in the database, ` +
          `${file.checksum} on disk). Restore the original migration.sql and put changes in a new migration.`,
        name,
      );
    }
  }
  return files.filter((f) => !done.has(f.name));
}

async function applyOne(client: pg.PoolClient, m: MigrationFile, log: Logger): Promise<void> {
  const id = randomUUID();
  // The row is written before the migration's own transaction, so a failure leaves a
  // visible record (finished_at NULL, logs) exactly as Prisma does.
  await client.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), 0)`,
    [id, m.checksum, m.name],
  );
  log.info({ migration: m.name }, 'applying migration');
  try {
    await client.query('BEGIN');
    // Simple-query protocol (no parameters) runs a multi-statement script in one call.
    await client.query(m.script);
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const logs = describePgError(err);
    await client
      .query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, logs])
      .catch((e: unknown) => log.error({ err: e }, 'could not record the failed migration'));
    throw new MigrationError(`Migration ${m.name} failed and was rolled back: ${logs}`, m.name, {
      cause: err,
    });
  }
}

function describePgError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: string; position?: string; detail?: string };
  const parts = [e.message];
  if (e.code) parts.push(`(SQLSTATE ${e.code})`);
  if (e.position) parts.push(`at character ${e.position}`);
  if (e.detail) parts.push(`- ${e.detail}`);
  return parts.join(' ');
}
