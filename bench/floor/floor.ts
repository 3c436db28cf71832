/**
 * Request floor — `{ __typename }` throughput of threatwire beside bare Apollo+Fastify:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test [REDIS_URL=redis://127.0.0.1:6379] \
 *     npm run bench -- floor
 * Options (env): ROUNDS (5), SECONDS (5, measured per target per round), WARMUP (2),
 * CONNECTIONS (32), LOG_LEVEL (info, the default of a deployment), RATE_LIMIT_POINTS
 * (1000000: limiting on, never reached), WORKERS (on), SKIP_BUILD=1 (use dist/ as is),
 * PROFILE_DIR (write a CPU profile of each server during the last round there; summarise
 * with `node bench/tools/profile-summary.mjs <file>`).
 *
 * Three servers, each its own process, started once: the compiled threatwire server
 * (`dist/main.js`, as `npm start` runs it) with Redis (when REDIS_URL is set) and without
 * it (in-process cache, bus and rate limits), and the baseline `bare-server.mjs` — Apollo
 * Server on Fastify with nothing else. A load generator in a child process keeps
 * CONNECTIONS keep-alive sockets busy with one POST each (closed loop) against one server
 * at a time; the order rotates every round so a change in machine load falls on all of
 * them. Printed per round and as medians: requests/s, server CPU µs per request, and
 * threatwire's ratio to the baseline measured in the same round.
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { fromRoot } from '../../src/platform/paths.js';
import { spawnServer } from '../../test/helpers/spawn-server.js';
import { exitWithHelpIfAsked } from '../help.js';
import type { LoadResult, LoadTarget } from './load.js';

exitWithHelpIfAsked(import.meta.url);

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const PROFILE_DIR = process.env.PROFILE_DIR;
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a fresh database is created on it)');
const here = fileURLToPath(new URL('.', import.meta.url));
const HOOK = join(here, '..', 'tools', 'cpu-profile-hook.mjs');
const BODY = JSON.stringify({ query: '{ __typename }' });

interface Target {
  name: string;
  url: string;
  key?: string;
  child: ChildProcess;
  profileDir?: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const uptime = () => execSync('uptime').toString().trim();

/** Keeps only the tail of a server's output once it is up (a busy log must not fill memory here). */
function keepTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-8000));
  for (const stream of [child.stdout, child.stderr]) {
    stream?.removeAllListeners('data');
    stream?.on('data', keep);
  }
  return () => tail;
}

async function startBare(profileDir?: string): Promise<Target> {
  const child = spawn(
    process.execPath,
    [...(profileDir ? ['--import', HOOK] : []), join(here, 'bare-server.mjs')],
    {
      cwd: fromRoot(),
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        ...(profileDir ? { CPU_PROFILE_DIR: profileDir } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`bare server exited (${code}): ${out}`)));
  });
  child.stdout.resume();
  return { name: 'bare Apollo+Fastify', url, child, ...(profileDir ? { profileDir } : {}) };
}

async function startThreatwire(
  name: string,
  env: Record<string, string>,
  key: string,
  profileDir?: string,
): Promise<Target> {
  const app = await spawnServer(
    {
      ...env,
      ...(profileDir ? { NODE_OPTIONS: `--import ${HOOK}`, CPU_PROFILE_DIR: profileDir } : {}),
    },
    120_000,
    'build',
  );
  const tail = keepTail(app.child);
  void app.exited.then(({ code, signal }) => {
    if (!stopping) console.error(`${name} exited (${code ?? signal}):\n${tail()}`);
  });
  return { name, url: app.url, key, child: app.child, ...(profileDir ? { profileDir } : {}) };
}

/** One measurement: a fresh load process against `t`, server CPU read around the measured window. */
function measure(t: Target, profile: boolean) {
  return new Promise<{ rps: number; cpuUs: number; errors: number }>((resolve, reject) => {
    const load = fork(join(here, 'load.ts'), [], { execArgv: process.execArgv, stdio: 'inherit' });
    const pid = t.child.pid!;
    let cpu0 = 0;
    load.on('message', (msg: { phase: 'measuring' } | LoadResult) => {
      if (msg.phase === 'measuring') {
        if (profile) t.child.kill('SIGHUP');
        cpu0 = cpuSeconds(pid);
        return;
      }
      const cpu = cpuSeconds(pid) - cpu0;
      if (profile) t.child.kill('SIGUSR2');
      if (msg.errors > 0) console.error(`${t.name}: ${msg.errors} failed requests, e.g.:\n${msg.sample}`);
      resolve({ rps: msg.requests / msg.seconds, cpuUs: (cpu * 1e6) / msg.requests, errors: msg.errors });
    });
    load.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    const target: LoadTarget = {
      url: t.url,
      body: BODY,
      connections: CONNECTIONS,
      ...(t.key ? { key: t.key } : {}),
    };
    load.send({ target, warmupSeconds: WARMUP, seconds: SECONDS });
  });
}

let stopping = false;
const dbName = `tw_bench_floor_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const dbUrl = Object.assign(new URL(databaseUrl), { pathname: `/${dbName}` }).toString();
const targets: Target[] = [];
try {
  if (!process.env.SKIP_BUILD) execSync('npm run build --silent', { cwd: fromRoot(), stdio: 'inherit' });
  const key = `tw_bench_${randomBytes(24).toString('base64url')}`;
  const env = {
    DATABASE_URL: dbUrl,
    ADMIN_API_KEY: key,
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    RATE_LIMIT_POINTS: process.env.RATE_LIMIT_POINTS ?? '1000000',
    WORKERS: process.env.WORKERS ?? 'on',
  };
  const profileDir = (name: string) => (PROFILE_DIR ? join(PROFILE_DIR, name) : undefined);
  targets.push(await startBare(profileDir('bare')));
  if (process.env.REDIS_URL)
    targets.push(
      await startThreatwire(
        'threatwire, Redis',
        { ...env, REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: `${dbName}:` },
        key,
        profileDir('redis'),
      ),
    );
  targets.push(await startThreatwire('threatwire, in-process', env, key, profileDir('in-process')));

  console.log(`\nNode ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s each`);
  console.log(`LOG_LEVEL=${env.LOG_LEVEL} RATE_LIMIT_POINTS=${env.RATE_LIMIT_POINTS} WORKERS=${env.WORKERS}`);
  console.log(`load before: ${uptime()}\n`);
  const results = new Map(targets.map((t) => [t.name, [] as { rps: number; cpuUs: number }[]]));
  const ratios = new Map(targets.slice(1).map((t) => [t.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    const line: string[] = [];
    for (const t of order) {
      const r = await measure(t, PROFILE_DIR !== undefined && round === ROUNDS - 1);
      results.get(t.name)!.push(r);
      line.push(`${t.name} ${fmt(r.rps)} req/s (${r.cpuUs.toFixed(0)} µs CPU/req)`);
    }
    const bare = results.get(targets[0]!.name)!.at(-1)!.rps;
    for (const t of targets.slice(1)) ratios.get(t.name)!.push(results.get(t.name)!.at(-1)!.rps / bare);
    console.log(`round ${round + 1}: ${line.join(' | ')}`);
  }
  console.log(`\nload after: ${uptime()}\n`);
  console.log(
    '| server | req/s (median) | server CPU µs/request (median) | of bare, median of per-round ratios |',
  );
  console.log('| --- | ---: | ---: | ---: |');
  for (const t of targets) {
    const rs = results.get(t.name)!;
    const ratio = ratios.get(t.name);
    console.log(
      `| ${t.name} | ${fmt(median(rs.map((r) => r.rps)))} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${
        ratio
          ? `${(100 * median(ratio)).toFixed(0)} % (${ratio.map((x) => (100 * x).toFixed(0)).join(', ')})`
          : '—'
      } |`,
    );
  }
  if (PROFILE_DIR) {
    // The hook writes the profile after SIGUSR2; wait until every file is there.
    for (const t of targets) {
      const dir = t.profileDir!;
      for (let i = 0; i < 100 && !(existsSync(dir) && readdirSync(dir).length > 0); i++)
        await new Promise((r) => setTimeout(r, 100));
      console.log(
        `CPU profile of ${t.name}: ${dir}/${existsSync(dir) ? readdirSync(dir).join(', ') : '(none)'}`,
      );
    }
  }
} finally {
  stopping = true;
  await Promise.all(
    targets.map(
      (t) =>
        new Promise<void>((resolve) => {
          if (t.child.exitCode !== null) return resolve();
          t.child.once('exit', () => resolve());
          t.child.kill('SIGTERM');
        }),
    ),
  );
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
