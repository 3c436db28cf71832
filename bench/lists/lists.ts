/**
 * Lists on 1,000,000 threat events:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test [REDIS_URL=…] npm run bench -- lists
 * Options (env): EVENTS (1000000), ROUNDS (3), SECONDS (8), WARMUP (2), CONNECTIONS (50),
 * PROFILE=1 (CPU profiles of both servers over the last round's windows, summarised;
 * with PROFILE_KIND=heap, allocation samples instead),
 * SKIP_BUILD=1 (use dist/ as it is).
 *
 * Generates the events in a database of its own with one INSERT … SELECT FROM
 * generate_series (not through the API), starts the compiled server on it, and measures
 * `threatEvents(first: 50)` with seven node fields from CONNECTIONS keep-alive connections
 * against the baseline: Apollo Server on Fastify (nothing else) with the same schema
 * serving the same page from memory (bench/lists/page-server.mjs). Two queries: the page
 * alone, and the page with `totalCount`. Each round measures baseline then threatwire for
 * each query; the figure is the median over rounds of threatwire / baseline. Prints the
 * plans (EXPLAIN ANALYZE) of the page and count queries, `uptime` before and after, and
 * each server's CPU per request (/proc, all threads). Failed answers are counted per window
 * and left out of the rate. The load generator is bench/floor/load.ts.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { migrate } from '../../src/platform/db-migrator.js';
import { fromRoot } from '../../src/platform/paths.js';
import { spawnServer } from '../../test/helpers/spawn-server.js';
import {
  CPU_PROFILE_HOOK,
  measureLoad,
  median,
  spawnListening,
  uptime,
  type MeasuredServer,
} from '../tools/http-load.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 8);
const WARMUP = Number(process.env.WARMUP ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const PROFILE = process.env.PROFILE === '1';
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');

const here = fileURLToPath(new URL('.', import.meta.url));
const NODE = 'id sourceIp threatType severity occurredAt geo { countryCode } classification { category }';
const QUERIES = {
  page: `{ threatEvents(first: 50) { edges { node { ${NODE} } } pageInfo { hasNextPage endCursor } } }`,
  'page + totalCount': `{ threatEvents(first: 50) { edges { node { ${NODE} } } pageInfo { hasNextPage endCursor } totalCount } }`,
};
type Case = keyof typeof QUERIES;

/** 31 columns like ingested events: ~180-byte descriptions and ~450-byte raw payloads. */
const GENERATE = `
  INSERT INTO threat_events (id, external_id, source_ip, destination_ip, source_port, destination_port,
    protocol, threat_type, severity, confidence, description, sensor, tags, occurred_at, ingested_at,
    country_code, city, latitude, longitude, geo_approximate, asn, as_org, known_ioc, banned, category,
    category_confidence, anomaly_score, is_anomaly, classification_method, model_version, raw)
  SELECT gen_random_uuid(), 'bench-' || g,
         ('10.' || (g % 250) || '.' || (g / 250 % 250) || '.' || (g / 62500 % 250))::inet, '192.0.2.1'::inet,
         1024 + g % 60000, 22, 'tcp',
         (ARRAY['ssh-bruteforce','port-scan','sql-injection','xss','malware-c2'])[1 + g % 5],
         1 + g % 10, 0.8, 'Repeated failed logins from ' || g || repeat(' lorem ipsum dolor sit amet', 6),
         'sensor-' || (g % 20), ARRAY['bench', 't' || (g % 7)],
         now() - g * interval '2 seconds', now() - g * interval '2 seconds',
         (ARRAY['US','CN','RU','DE','FR','NL','BR','IN'])[1 + g % 8], 'City ' || (g % 50),
         40 + (g % 20), -70 + (g % 40), false, 64500 + g % 100, 'Example AS ' || (g % 100), g % 13 = 0,
         g % 17 = 0,
         (ARRAY['BRUTEFORCE','SCAN','EXPLOIT','MALWARE','OTHER'])[1 + g % 5]::"ThreatCategory",
         0.75, (g % 100) / 100.0, g % 50 = 0, 'RULES'::"ClassificationMethod", NULL,
         jsonb_build_object('payload', repeat('x', 400), 'seq', g)
    FROM generate_series(1, $1::int) g`;

type Server = MeasuredServer;

/** One measured window: a fresh load process against `s`, its CPU read around the window. */
const measure = (s: Server, query: string, profile: boolean) =>
  measureLoad(s, {
    body: JSON.stringify({ query }),
    connections: CONNECTIONS,
    warmupSeconds: WARMUP,
    seconds: SECONDS,
    profile,
  });

function startBaseline(pageFile: string, profileDir: string | undefined): Promise<Server> {
  // Production mode as threatwire runs: graphql-js skips its development checks.
  return spawnListening(
    'Apollo+Fastify from memory',
    [join(here, 'page-server.mjs'), pageFile, fromRoot('schema.graphql')],
    { ...process.env, NODE_ENV: 'production' },
    profileDir,
  );
}

async function post(s: Server, query: string): Promise<unknown> {
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(s.key ? { authorization: `Bearer ${s.key}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body;
}

const dbName = `tw_bench_lists_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const dbUrl = Object.assign(new URL(databaseUrl), { pathname: `/${dbName}` }).toString();
const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
const servers: Server[] = [];
let serverOutput: (() => string) | undefined;
try {
  console.log(`load before: ${uptime()}`);
  await migrate(pool, { logger: pino({ level: 'silent' }) });
  let t0 = performance.now();
  await pool.query(GENERATE, [EVENTS]);
  await pool.query('VACUUM ANALYZE threat_events');
  console.log(`generated ${EVENTS} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const plan = async (sql: string) =>
    (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`)).rows
      .map((r) => `    ${r['QUERY PLAN']}`)
      .join('\n');
  console.log(
    `\nplan of the page (the columns the seven fields need):\n${await plan(
      `SELECT e.id, host(e.source_ip), e.threat_type, e.severity, e.occurred_at, e.country_code, e.category
       FROM threat_events e ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51`,
    )}`,
  );
  console.log(
    `\nplan of a filtered page (one country of eight):\n${await plan(
      `SELECT e.id, host(e.source_ip), e.threat_type, e.severity, e.occurred_at, e.country_code, e.category
         FROM threat_events e WHERE e.country_code = ANY('{DE}'::bpchar[])
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51`,
    )}`,
  );
  console.log(
    `\nplan of the bounded count:\n${await plan(
      'SELECT count(*) FROM (SELECT 1 FROM threat_events e WHERE e.severity >= 5 LIMIT 10001) s',
    )}`,
  );
  console.log(
    `\nplan of the old unbounded count:\n${await plan(
      'SELECT count(*) FROM threat_events e WHERE e.severity >= 5',
    )}\n`,
  );

  if (!process.env.SKIP_BUILD) execSync('npm run build --silent', { cwd: fromRoot(), stdio: 'inherit' });
  const key = `tw_bench_${randomBytes(24).toString('base64url')}`;
  const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'tw-lists-profile-')) : undefined;
  t0 = performance.now();
  const app = await spawnServer(
    {
      DATABASE_URL: dbUrl,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ADMIN_API_KEY: key,
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      RATE_LIMIT_POINTS: '1000000',
      WORKERS: 'off',
      // BENCH_SERVER_NODE_OPTIONS: extra node flags for threatwire (e.g. heap sizes).
      ...(process.env.BENCH_SERVER_NODE_OPTIONS
        ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS }
        : {}),
      ...(profileDir
        ? {
            NODE_OPTIONS:
              `${process.env.BENCH_SERVER_NODE_OPTIONS ?? ''} --import ${CPU_PROFILE_HOOK}`.trim(),
            CPU_PROFILE_DIR: join(profileDir, 'threatwire'),
            // PROFILE_KIND=heap: allocation samples instead of CPU (bench/tools/cpu-profile-hook.mjs).
            ...(process.env.PROFILE_KIND ? { PROFILE_KIND: process.env.PROFILE_KIND } : {}),
          }
        : {}),
    },
    120_000,
    'build',
  );
  const threatwire: Server = { name: 'threatwire', url: app.url, child: app.child, key };
  serverOutput = app.output;
  servers.push(threatwire);
  const answer = await post(threatwire, QUERIES['page + totalCount']);
  const pageFile = join(mkdtempSync(join(tmpdir(), 'tw-lists-')), 'page.json');
  writeFileSync(pageFile, JSON.stringify((answer as { data: { threatEvents: unknown } }).data.threatEvents));
  const baseline = await startBaseline(pageFile, profileDir && join(profileDir, 'baseline'));
  servers.push(baseline);
  for (const q of Object.values(QUERIES)) {
    const [a, b] = [await post(threatwire, q), await post(baseline, q)];
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the two servers answer differently:\n${q}`);
  }
  console.log(
    `answers identical (${Buffer.byteLength(JSON.stringify(await post(baseline, QUERIES.page)))} bytes for the page); ` +
      `${CONNECTIONS} connections, ${WARMUP} s warm-up + ${SECONDS} s per window, ${ROUNDS} rounds\n`,
  );

  const ratios: Record<Case, number[]> = { page: [], 'page + totalCount': [] };
  /** Requests served in each profiled window, in the order the profiles are written. */
  const profiled: { c: Case; base: number; ours: number }[] = [];
  const rps: Record<string, number[]> = {};
  console.log(
    '| round | query | baseline req/s | threatwire req/s | ratio | CPU µs/req baseline | CPU µs/req threatwire | threatwire errors |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of Object.keys(QUERIES) as Case[]) {
      const profiling = PROFILE && round === ROUNDS;
      const base = await measure(baseline, QUERIES[c], profiling);
      const ours = await measure(threatwire, QUERIES[c], profiling);
      if (profiling) profiled.push({ c, base: base.requests, ours: ours.requests });
      ratios[c].push(ours.rps / base.rps);
      (rps[`${c} baseline`] ??= []).push(base.rps);
      (rps[`${c} threatwire`] ??= []).push(ours.rps);
      console.log(
        `| ${round} | ${c} | ${base.rps.toFixed(0)} | ${ours.rps.toFixed(0)} | ${(ours.rps / base.rps).toFixed(2)} | ${base.cpuUs.toFixed(0)} | ${ours.cpuUs.toFixed(0)} | ${ours.errors} |`,
      );
    }
  }
  console.log('\nmedians over rounds:');
  for (const c of Object.keys(QUERIES) as Case[])
    console.log(
      `  ${c}: threatwire ${median(rps[`${c} threatwire`]!).toFixed(0)} req/s, baseline ${median(rps[`${c} baseline`]!).toFixed(0)} req/s, ratio ${median(ratios[c]).toFixed(2)}`,
    );
  console.log(`\nload after: ${uptime()}`);
  if (profileDir) {
    await new Promise((r) => setTimeout(r, 2000)); // the hook writes the profile after SIGUSR2
    for (const server of ['baseline', 'threatwire'] as const)
      readdirSync(join(profileDir, server))
        .sort()
        .forEach((f, i) => {
          const w = profiled[i]!;
          const requests = server === 'baseline' ? w.base : w.ours;
          console.log(`\nCPU profile of ${server}, last round's "${w.c}" window (${requests} requests):`);
          const summary = `node ${fromRoot('bench', 'tools', 'profile-summary.mjs')} ${join(profileDir, server, f)} 25`;
          console.log(execSync(summary).toString());
        });
  }
} catch (err) {
  const errors = serverOutput?.()
    .split('\n')
    .filter((l) => /"level":(50|60)|Unexpected error/.test(l));
  if (errors?.length) console.error(`threatwire's first errors:\n${errors.slice(0, 3).join('\n')}`);
  throw err;
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  await Promise.all(
    servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(0) : s.child.once('exit', r)))),
  );
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
