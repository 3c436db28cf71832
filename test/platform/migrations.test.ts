import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, migrate, MigrationError } from '../../src/platform/db-migrator.js';
import { fromRoot } from '../../src/platform/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { diffShapes, expectedShape, indexName, primaryKeyName } from './schema-drift.js';
import { readDatabaseShape } from './schema-shape.js';
import { testPool } from '../helpers/test-pool.js';

const logger = pino({ level: 'silent' });
const schemaText = await readFile(fromRoot('prisma', 'schema.prisma'), 'utf8');
const migrationNames = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freshPool(label: string): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await createTestDatabase(label);
  const pool = testPool(db.url, { max: 4 });
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return { db, pool };
}

async function copyMigrations(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-migrations-'));
  await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function drift(pool: pg.Pool, schema: string): Promise<string[]> {
  const client = await pool.connect();
  try {
    return diffShapes(await expectedShape(schema, client), await readDatabaseShape(client));
  } finally {
    client.release();
  }
}

describe('migrations agree with schema.prisma', () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    ({ pool } = await freshPool('drift'));
    const { applied } = await migrate(pool, { logger });
    expect(applied).toEqual(migrationNames);
  });

  it('every model, column, type, nullability, default, key, index and enum matches', async () => {
    expect(await drift(pool, schemaText)).toEqual([]);
  });

  it('reports a field added to schema.prisma without a migration', async () => {
    const firstModel = /^model\s+\w+\s*\{/m.exec(schemaText);
    expect(firstModel).not.toBeNull();
    const at = (firstModel?.index ?? 0) + (firstModel?.[0].length ?? 0);
    const modified = `${schemaText.slice(0, at)}\n  driftProbe String? @db.VarChar(7)${schemaText.slice(at)}`;
    const problems = await drift(pool, modified);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/driftProbe: declared in schema\.prisma, missing in the database/);
  });

  it('reports a changed type, a dropped index and an unknown model', async () => {
    const modified =
      schemaText.replace('@db.VarChar(100)', '@db.VarChar(120)').replace('@@index([prefix])', '') +
      '\nmodel DriftOnly {\n  id Int @id @default(autoincrement())\n}\n';
    const problems = (await drift(pool, modified)).join('\n');
    expect(problems).toMatch(/character varying\(100\) in the database, character varying\(120\) declared/);
    expect(problems).toMatch(/index api_keys_prefix_idx: in the database, not declared/);
    expect(problems).toMatch(/table DriftOnly: declared in schema\.prisma, missing in the database/);
  });

  it('computes Prisma default constraint names, truncated to 63 bytes', () => {
    expect(primaryKeyName('api_keys')).toBe('api_keys_pkey');
    expect(indexName('api_keys', ['hash'], '_key')).toBe('api_keys_hash_key');
    const long = indexName('t'.repeat(40), ['c'.repeat(40)], '_idx');
    expect(long).toHaveLength(63);
    expect(long.endsWith('_idx')).toBe(true);
  });
});

describe('migrate()', () => {
  it('applies each migration once when two instances start at once, then is a no-op', async () => {
    const { db } = await freshPool('concurrent');
    // Two pools stand in for two processes racing at start-up.
    const pools = [1, 2].map(() => testPool(db.url, { max: 2 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { logger })));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(migrationNames);
      const { rows } = await pools[0]!.query<{ migration_name: string; finished: boolean; steps: number }>(
        'SELECT migration_name, finished_at IS NOT NULL AS finished, applied_steps_count AS steps FROM _prisma_migrations',
      );
      expect(rows.map((r) => r.migration_name).sort()).toEqual(migrationNames);
      expect(rows.every((r) => r.finished && r.steps === 1)).toBe(true);
      expect(await migrate(pools[1]!, { logger })).toEqual({ applied: [] });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('records the checksums Prisma computes and Prisma’s column layout', async () => {
    const { pool } = await freshPool('checksums');
    await migrate(pool, { logger });
    const { rows } = await pool.query<{ migration_name: string; checksum: string; id: string }>(
      'SELECT id, migration_name, checksum FROM _prisma_migrations',
    );
    for (const name of migrationNames) {
      const bytes = await readFile(join(DEFAULT_MIGRATIONS_DIR, name, 'migration.sql'));
      const row = rows.find((r) => r.migration_name === name);
      expect(row?.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row?.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    const { rows: cols } = await pool.query<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(cols.map((c) => `${c.column_name}:${c.data_type}:${c.is_nullable}`)).toEqual([
      'id:character varying:NO',
      'checksum:character varying:NO',
      'finished_at:timestamp with time zone:YES',
      'migration_name:character varying:NO',
      'logs:text:YES',
      'rolled_back_at:timestamp with time zone:YES',
      'started_at:timestamp with time zone:NO',
      'applied_steps_count:integer:NO',
    ]);
  });

  it('applies a new migration after the ones already applied', async () => {
    const { pool } = await freshPool('incremental');
    const dir = await copyMigrations();
    await migrate(pool, { dir, logger });
    await mkdir(join(dir, '29991231000000_later'));
    await writeFile(
      join(dir, '29991231000000_later', 'migration.sql'),
      'CREATE TABLE "later" ("id" INTEGER);\n',
    );
    expect(await migrate(pool, { dir, logger })).toEqual({ applied: ['29991231000000_later'] });
  });

  it('refuses to start when an applied migration was modified, naming it', async () => {
    const { pool } = await freshPool('tampered');
    const dir = await copyMigrations();
    await migrate(pool, { dir, logger });
    const victim = migrationNames[0]!;
    await writeFile(join(dir, victim, 'migration.sql'), '\n-- edited after the fact\n', { flag: 'a' });
    const error = await migrate(pool, { dir, logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toContain(`Migration ${victim} was modified after it was applied`);
  });

  it('accepts a migration whose line endings git converted to CRLF', async () => {
    const { pool } = await freshPool('crlf');
    const dir = await copyMigrations();
    await migrate(pool, { dir, logger });
    const file = join(dir, migrationNames[0]!, 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));
    expect(await migrate(pool, { dir, logger })).toEqual({ applied: [] });
  });

  it('rolls back a failing migration, records it, and refuses to start until resolved', async () => {
    const { pool } = await freshPool('failing');
    const dir = await copyMigrations();
    const bad = '29991231000000_broken';
    await mkdir(join(dir, bad));
    await writeFile(
      join(dir, bad, 'migration.sql'),
      'CREATE TABLE "half_done" ("id" INTEGER);\nSELECT 1/0;\n',
    );

    await expect(migrate(pool, { dir, logger })).rejects.toThrow(
      /Migration 29991231000000_broken failed and was rolled back: division by zero/,
    );
    const { rows } = await pool.query<{ finished_at: Date | null; logs: string | null }>(
      'SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = $1',
      [bad],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.finished_at).toBeNull();
    expect(rows[0]?.logs).toMatch(/division by zero.*22012/);
    const { rowCount } = await pool.query(`SELECT 1 FROM pg_class WHERE relname = 'half_done'`);
    expect(rowCount).toBe(0);

    await expect(migrate(pool, { dir, logger })).rejects.toThrow(
      /29991231000000_broken failed earlier .* is not resolved/,
    );

    // Resolving it the way the error message suggests lets a fixed migration run.
    await pool.query(`UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1`, [
      bad,
    ]);
    await writeFile(join(dir, bad, 'migration.sql'), 'CREATE TABLE "half_done" ("id" INTEGER);\n');
    expect(await migrate(pool, { dir, logger })).toEqual({ applied: [bad] });
  });
});
