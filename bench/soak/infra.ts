import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../src/platform/free-port.js';
import { spawnServer, type SpawnedServer } from '../../test/helpers/spawn-server.js';

/** A database of the soak's own on an existing PostgreSQL server, dropped by `drop`. */
export async function freshDatabase(serverUrl: string) {
  const name = `tw_soak_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  let dropped = false;
  return {
    name,
    url,
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const REDIS_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** Resolves once a PING on `url` answers, or rejects after `timeoutMs`. */
async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined); // refused until redis-server listens
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      if (Date.now() - started > timeoutMs) throw new Error(`redis-server on ${url} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

/**
 * A throwaway redis-server on a free loopback port (never the shared one), which can be
 * stopped by its PID and started again on the same port.
 */
export async function throwawayRedis() {
  if (!REDIS_BIN) throw new Error('redis-server binary not found');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      REDIS_BIN,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitForRedis(url, 10_000);
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM'); // by the PID of the process started here
    });
  await start();
  return { url, port, start, stop, pid: () => child?.pid };
}

/**
 * A database and a throwaway redis-server of the benchmark's own, with a cleanup list
 * run in reverse (also on Ctrl-C): push what you start, `await cleanup()` at the end.
 */
export async function benchInfra() {
  const db = await freshDatabase(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test');
  const redis = await throwawayRedis();
  const cleanups: (() => Promise<unknown>)[] = [() => redis.stop(), () => db.drop()];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.error('cleanup:', e));
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  return { db, redis, cleanups, cleanup };
}

/** The compiled server (`dist/main.js`, as `npm start` runs it) with its /proc readings. */
export interface SoakServer {
  app: SpawnedServer;
  pid: number;
  /** Resident set size, MB (VmRSS of /proc/<pid>/status). */
  rssMb(): number;
  /** CPU seconds used so far (user + system, all threads). */
  cpuSeconds(): number;
  /** Set when the process exited before `stop` was called. */
  crashed: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServer(env: Record<string, string>): Promise<SoakServer> {
  if (!existsSync(new URL('../../dist/main.js', import.meta.url)))
    throw new Error('dist/main.js is missing: run `npm run build` first');
  const app = await spawnServer(env, 120_000, 'build');
  const pid = app.child.pid!;
  let stopping = false;
  const server: SoakServer = {
    app,
    pid,
    crashed: undefined,
    rssMb() {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    cpuSeconds() {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (100/s)
    },
    async stop() {
      stopping = true;
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGTERM');
      return app.exited;
    },
  };
  void app.exited.then((how) => {
    if (!stopping) server.crashed = how;
  });
  return server;
}
