/**
 * Request floor, two builds side by side: the CPU per request of `{ __typename }` on the
 * compiled server of another checkout (BEFORE_DIR, built with `tsc -p tsconfig.build.json`)
 * and of this one (`dist/`, as it is), in the same mode, measured alternately:
 *   BEFORE_DIR=/tmp/tw-before DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
 *     [REDIS_URL=redis://127.0.0.1:6379] npx tsx bench/floor/builds.ts
 * Options (env): ROUNDS (8 windows per build), SECONDS (3), WARMUP (1), CONNECTIONS (32),
 * WORKERS (on), RATE_LIMIT_POINTS (1000000); BEFORE_ENV and AFTER_ENV add or override
 * one side's environment (`K=V K2=V2`; an empty value removes the variable), so one build
 * can also be compared with itself in two settings: BEFORE_DIR=. AFTER_ENV='REDIS_URL='.
 * QUERY (a GraphQL document) and VARIABLES (JSON) replace `{ __typename }`, so the cost of
 * another operation can be compared the same way (a mutation, say).
 *
 * Both servers run at once, each on a fresh database of its own (their migrations may
 * differ), and the windows alternate (before, after; then after, before; …), so a change
 * in the machine's load falls on both: on a shared machine this resolves a difference of
 * a few percent where the three-server floor benchmark cannot. Prints each window's CPU
 * µs per request and the median of after ÷ before, window pair by window pair.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { fromRoot } from '../../src/platform/paths.js';
import { measureLoad, median, uptime, type MeasuredServer } from '../tools/http-load.js';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const SECONDS = Number(process.env.SECONDS ?? 3);
const WARMUP = Number(process.env.WARMUP ?? 1);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const before = process.env.BEFORE_DIR;
const databaseUrl = process.env.DATABASE_URL;
if (!before || !databaseUrl) throw new Error('set BEFORE_DIR (a built checkout) and DATABASE_URL');

const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
const key = `tw_bench_${randomBytes(24).toString('base64url')}`;
const databases: string[] = [];
const servers: MeasuredServer[] = [];

/** The compiled server of the checkout in `dir`, once its banner names its URL. */
async function start(name: string, dir: string, overrides: string): Promise<MeasuredServer> {
  const db = `tw_bench_builds_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${db} TEMPLATE template0`);
  databases.push(db);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: Object.assign(new URL(databaseUrl!), { pathname: `/${db}` }).toString(),
    ADMIN_API_KEY: key,
    RATE_LIMIT_POINTS: process.env.RATE_LIMIT_POINTS ?? '1000000',
    WORKERS: process.env.WORKERS ?? 'on',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: `${db}:` } : {}),
  } as Record<string, string>;
  for (const pair of overrides.split(/\s+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`BEFORE_ENV/AFTER_ENV: expected K=V, got ${pair}`);
    const [k, v] = [pair.slice(0, at), pair.slice(at + 1)];
    if (v === '') delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [join(dir, 'dist', 'main.js')], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const server: MeasuredServer = { name, url: '', child, key };
  servers.push(server);
  server.url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /GraphQL \(HTTP\)\s+(\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${out}`)));
  });
  child.stdout.resume();
  return server;
}

try {
  const a = await start('before', before, process.env.BEFORE_ENV ?? '');
  const b = await start('after', fromRoot(), process.env.AFTER_ENV ?? '');
  console.log(
    `mode ${process.env.REDIS_URL ? 'Redis' : 'in-process'}` +
      ` (before: ${process.env.BEFORE_ENV ?? 'as is'}; after: ${process.env.AFTER_ENV ?? 'as is'}), load before: ${uptime()}`,
  );
  const body = JSON.stringify({
    query: process.env.QUERY ?? '{ __typename }',
    ...(process.env.VARIABLES ? { variables: JSON.parse(process.env.VARIABLES) as unknown } : {}),
  });
  console.log(`operation: ${body.slice(0, 200)}`);
  const cpu = { before: [] as number[], after: [] as number[] };
  const rps = { before: [] as number[], after: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 ? [b, a] : [a, b]) {
      const r = await measureLoad(s, {
        body,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP,
        seconds: SECONDS,
        profile: false,
      });
      cpu[s.name as 'before' | 'after'].push(r.cpuUs);
      rps[s.name as 'before' | 'after'].push(r.rps);
    }
  }
  console.log(`load after: ${uptime()}`);
  for (const k of ['before', 'after'] as const) {
    console.log(
      `${k}: CPU µs/request median ${median(cpu[k]).toFixed(0)} (${cpu[k].map((x) => x.toFixed(0)).join(', ')}), req/s median ${Math.round(median(rps[k]))}`,
    );
  }
  const ratios = cpu.after.map((x, i) => x / cpu.before[i]!);
  console.log(
    `after ÷ before, CPU per request: median ${(100 * median(ratios)).toFixed(0)} % (${ratios.map((x) => (100 * x).toFixed(0)).join(', ')})`,
  );
} finally {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null) return resolve();
          s.child.once('exit', () => resolve());
          s.child.kill('SIGTERM');
        }),
    ),
  );
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
}
