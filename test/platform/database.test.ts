import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DatabaseConnectionError, openDatabase, redactUrl } from '../../src/platform/database.js';
import { assertExecutableBy, postgresUserIfRoot } from '../../src/platform/embedded-postgres.js';
import { fromRoot, projectRoot } from '../../src/platform/paths.js';
import { createTestDatabase } from '../helpers/test-database.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-embedded-'));
  await chmod(dir, 0o755); // mkdtemp gives 0700; as root, PostgreSQL runs as `postgres` and must get through
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const embeddedConfig = (dataDir: string) =>
  loadConfig({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: '0', DATABASE_POOL_SIZE: '3', LOG_LEVEL: 'silent' });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('embedded mode', () => {
  // One test, never skipped: the directory check only matters as root, where PostgreSQL
  // is started as `postgres`; as any other user no user switch may happen at all.
  it('checks that `postgres` can reach the binaries only when running as root', async () => {
    const runAs = await postgresUserIfRoot();
    if (process.getuid?.() !== 0) {
      expect(runAs).toBeUndefined();
      return;
    }
    expect(runAs).toBeDefined();
    const hidden = await mkdtemp(join(tmpdir(), 'tw-private-')); // 0700, owned by root
    cleanups.push(() => rm(hidden, { recursive: true, force: true }));
    const binary = join(hidden, 'initdb');
    await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
    await expect(assertExecutableBy(binary, runAs!)).rejects.toThrow(/not searchable.*DATABASE_URL/s);
    await chmod(hidden, 0o755);
    await expect(assertExecutableBy(binary, runAs!)).resolves.toBeUndefined();
  });

  it('starts, migrates, answers, stops, and restarts on the same data directory', async () => {
    const dataDir = await tempDataDir();
    const signalHandlers = () => ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s));
    const handlersBefore = signalHandlers();
    const first = await openDatabase(embeddedConfig(dataDir), logger);
    try {
      // The package's own SIGTERM/SIGINT handlers (which call process.exit) are removed:
      // graceful shutdown belongs to main.ts.
      expect(signalHandlers()).toEqual(handlersBefore);
      expect(first.mode).toBe('embedded');
      expect(first.url).toMatch(/^postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/threatwire$/);
      expect(await first.ping()).toBeGreaterThan(0);
      await first.prisma.apiKey.create({
        data: { name: 'kept', role: 'ADMIN', prefix: 'tw_abc', hash: 'a'.repeat(64) },
      });
    } finally {
      await first.close();
    }
    await expect(first.ping()).rejects.toThrow();

    const second = await openDatabase(embeddedConfig(dataDir), logger);
    try {
      const keys = await second.prisma.apiKey.findMany();
      expect(keys.map((k) => k.name)).toEqual(['kept']);
      const { rows } = await second.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM _prisma_migrations',
      );
      expect(rows[0]?.n).toBeGreaterThan(0);
      // The application's sessions never JIT-compile (statistics queries would pay for it).
      const jit = await second.pool.query<{ jit: string }>('SHOW jit');
      expect(jit.rows[0]?.jit).toBe('off');
    } finally {
      await second.close();
    }
  });

  it('recovers after a crash left the server running without its owner', async () => {
    const dataDir = await tempDataDir();
    const child = await startInChild(dataDir);
    child.kill('SIGKILL'); // no shutdown hooks run: PostgreSQL is orphaned
    await new Promise((r) => child.once('exit', r));
    const orphan = Number.parseInt(
      (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '',
      10,
    );
    expect(isAlive(orphan)).toBe(true);

    const db = await openDatabase(embeddedConfig(dataDir), logger);
    try {
      expect(isAlive(orphan)).toBe(false);
      expect(await db.ping()).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('ignores a stale postmaster.pid whose PID now belongs to another process', async () => {
    const dataDir = await tempDataDir();
    await (await openDatabase(embeddedConfig(dataDir), logger)).close();
    // Containers reuse PIDs: after a restart the recorded PID may be anything.
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanups.push(() => Promise.resolve(void unrelated.kill()));
    const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
    await writeFile(
      pidFile,
      `${unrelated.pid}\n${join(dataDir, 'postgres')}\n0\n5432\n\n127.0.0.1\n  0  0\nready\n`,
    );

    const db = await openDatabase(embeddedConfig(dataDir), logger);
    try {
      expect(await db.ping()).toBeGreaterThan(0);
      expect(isAlive(unrelated.pid ?? 0)).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('external mode', () => {
  it('uses DATABASE_URL (or the test server), migrates and reports a redacted URL', async () => {
    const target = await createTestDatabase('external');
    cleanups.push(() => target.drop());
    const db = await openDatabase(loadConfig({ DATABASE_URL: target.url, LOG_LEVEL: 'silent' }), logger);
    try {
      expect(db.mode).toBe('external');
      expect(await db.ping()).toBeGreaterThan(0);
      expect(await db.prisma.apiKey.count()).toBe(0);
      expect(db.url).not.toMatch(/:[^:@/*]+@/); // no password, if the URL had one
    } finally {
      await db.close();
    }
  });

  it('names the unreachable server, never the password', async () => {
    const secret = randomBytes(8).toString('hex');
    const config = loadConfig({
      DATABASE_URL: `postgresql://tw:${secret}@127.0.0.1:1/nowhere`,
      LOG_LEVEL: 'silent',
    });
    const error = await openDatabase(config, logger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseConnectionError);
    const message = (error as Error).message;
    expect(message).toContain('tw@127.0.0.1:1, database nowhere');
    expect(message).toContain('connection refused');
    expect(message).not.toContain(secret);
  });
});

describe('redactUrl', () => {
  it('hides passwords in the user info and in parameters', () => {
    expect(redactUrl('postgresql://u:p%40ss@db.example:5433/app?sslmode=require')).toBe(
      'postgresql://u:***@db.example:5433/app?sslmode=require',
    );
    expect(redactUrl('postgres://db/app?password=hunter2')).toBe('postgres://db/app?password=***');
    expect(redactUrl('postgresql://u@db/app')).toBe('postgresql://u@db/app');
    expect(redactUrl('not a url')).toBe('[unparseable database URL]');
  });
});

/** Starts embedded PostgreSQL in a separate Node process, resolving once it serves. */
async function startInChild(dataDir: string): Promise<ChildProcess> {
  const script = `
    const { startEmbeddedPostgres } = await import(${JSON.stringify(fromRoot('src', 'platform', 'embedded-postgres.ts'))});
    const { pino } = await import('pino');
    await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: 0, logger: pino({ level: 'silent' }) });
    console.log('READY');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => Promise.resolve(void child.kill('SIGKILL')));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('READY')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`child exited (${code}) before PostgreSQL was ready:\n${output}`)),
    );
  });
  return child;
}
