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
 * threatwire's ratios to the baseline measured in the same round, by throughput and by CPU
 * per request.
 */
import { execSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { fromRoot } from '../../src/platform/paths.js';
import { spawnServer } from '../../test/helpers/spawn-server.js';
import { exitWithHelpIfAsked } from '../help.js';
import { CPU_PROFILE_HOOK, measureLoad, median, spawnListening, uptime } from '../tools/http-load.js';

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
const BODY = JSON.stringify({ query: '{ __typename }' });

interface Target {
  name: string;
  url: string;
  key?: string;
  child: ChildProcess;
  profileDir?: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

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
  const bare = await spawnListening(
    'bare Apollo+Fastify',
    [join(here, 'bare-server.mjs')],
    { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    profileDir,
  );
  return { ...bare, ...(profileDir ? { profileDir } : {}) };
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
      ...(profileDir ? { NODE_OPTIONS: `--import ${CPU_PROFILE_HOOK}`, CPU_PROFILE_DIR: profileDir } : {}),
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
const measure = (t: Target, profile: boolean) =>
  measureLoad(t, { body: BODY, connections: CONNECTIONS, warmupSeconds: WARMUP, seconds: SECONDS, profile });

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
    '| server | req/s (median) | server CPU µs/request (median) | of bare, median of per-round ratios | of bare by CPU per request, median of per-round ratios |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const bareRounds = results.get(targets[0]!.name)!;
  const percents = (xs: number[]) =>
    `${(100 * median(xs)).toFixed(0)} % (${xs.map((x) => (100 * x).toFixed(0)).join(', ')})`;
  for (const t of targets) {
    const rs = results.get(t.name)!;
    const ratio = ratios.get(t.name);
    // Bare's CPU per request over this server's, round by round: less sensitive to how much
    // of the machine the server got than the throughput ratio.
    const cpuRatio = rs.map((r, i) => bareRounds[i]!.cpuUs / r.cpuUs);
    console.log(
      `| ${t.name} | ${fmt(median(rs.map((r) => r.rps)))} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${
        ratio ? percents(ratio) : '—'
      } | ${ratio ? percents(cpuRatio) : '—'} |`,
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
