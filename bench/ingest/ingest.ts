/**
 * Bulk ingestion benchmark:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test [REDIS_URL=…] npx tsx bench/ingest/ingest.ts
 * Options (env): EVENTS (200000), BATCH (1000), CONCURRENCY (comma list of in-flight
 * batches, "1,4,8"), INSTANCES (comma list of server counts, "1,2"), SINGLE_RPS (500),
 * SINGLE_SECONDS (10).
 *
 * 1. Cost of validation, GeoIP and classification per event, in this process.
 * 2. Raw PostgreSQL ceilings on the same enriched rows (COPY, the app's unnest INSERT,
 *    multi-row INSERT), one connection, batches in sequence.
 * 3. End to end: `ingestThreatEvents` over HTTP to one or more server instances, each its
 *    own process (with an anomaly model loaded), one graphql-ws subscriber on instance 0
 *    counting every event delivered.
 * 4. Single-event `ingestThreatEvent` at a fixed rate from 50 keep-alive connections
 *    (run before phase 3's measurements, right after the warm-up, so that the bulk
 *    phase's write debt — autovacuum, checkpoints, heap growth — is not measured with it).
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import { pino } from 'pino';
import WebSocket from 'ws';
import { GeoService } from '../../src/geo/geo-service.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { fromRoot } from '../../src/platform/paths.js';
import {
  AnomalyDetector,
  CompositeClassifier,
  RulesClassifier,
  train,
} from '../../src/threats/classifier/index.js';
import { ANOMALY_TREES } from '../../src/threats/classifier-service.js';
import { buildRecord } from '../../src/threats/threat-record.js';
import type { ThreatEventInputData, ThreatEventRecord } from '../../src/threats/threat-types.js';
import { validateEvent, type ValidEvent } from '../../src/threats/threat-validation.js';
import { measure, METHODS } from './ceilings.js';
import { serverGroup } from './servers.js';
import { singlePhase } from './single-phase.js';
import { benchInputs } from './data.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const EVENTS = Number(process.env.EVENTS ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 1000);
const CONCURRENCY = (process.env.CONCURRENCY ?? '1,4,8').split(',').map(Number);
/** Server instances sharing the database and Redis (one host scaled out), comma list. */
const INSTANCES = (process.env.INSTANCES ?? '1,2').split(',').map(Number);
const server = process.env.DATABASE_URL;
if (!server) throw new Error('set DATABASE_URL to a PostgreSQL server (a fresh database is created on it)');
const log = pino({ level: 'silent' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const out: string[] = [];
const say = (line: string) => {
  out.push(line);
  console.log(line);
};

// --- a fresh database ---------------------------------------------------------
const dbName = `tw_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const dbUrl = Object.assign(new URL(server), { pathname: `/${dbName}` }).toString();
const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
await migrate(pool, { logger: log });

try {
  // --- 1. per-event cost in isolation -------------------------------------------
  const inputs = benchInputs(EVENTS, `bench-${Date.now()}`) as unknown as ThreatEventInputData[];
  const geo = await GeoService.open({}, log);
  const now = Date.now();
  const time = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return ((performance.now() - t0) * 1000) / EVENTS; // µs per event
  };
  let valid: ValidEvent[] = [];
  const validateUs = time(() => {
    valid = inputs.map((i) => {
      const r = validateEvent(i, now);
      if (!r.ok) throw new Error(r.error.message);
      return r.event;
    });
  });
  const geoUs = time(() => valid.forEach((v) => geo.locate(v.geoKey)));
  const toInput = (v: ValidEvent) => ({ ...v, sourceIsPrivate: false });
  const rules = new CompositeClassifier();
  const anomaly = AnomalyDetector.fit(valid.slice(0, 10_000).map(toInput), { seed: 1, trees: ANOMALY_TREES });
  const withAnomaly = new CompositeClassifier({ anomaly });
  const trained = train(
    valid.slice(0, 1000).map((v) => ({ input: toInput(v), label: rules.classify(toInput(v)).category })),
    new RulesClassifier(),
  );
  const classifyInputs = valid.map(toInput);
  const rulesUs = time(() => classifyInputs.forEach((i) => rules.classify(i)));
  const anomalyUs = time(() => classifyInputs.forEach((i) => withAnomaly.classify(i)));
  const forestUs = trained.model ? time(() => classifyInputs.forEach((i) => trained.model.verdict(i))) : NaN;
  const ingestedAt = new Date();
  let records: ThreatEventRecord[] = [];
  const buildUs = time(() => {
    records = valid.map((v) => buildRecord(v, ingestedAt, geo, withAnomaly));
  });
  say(`\n${EVENTS.toLocaleString('en-US')} events, batches of ${BATCH}, Node ${process.version}`);
  say('\nPer-event cost in isolation (µs/event, single thread):\n');
  say('| step | µs/event |\n| --- | ---: |');
  for (const [k, v] of [
    ['validate (parseIp, limits)', validateUs],
    ['GeoIP locate (country db)', geoUs],
    ['classify: rules only', rulesUs],
    ['classify: rules + isolation forest', anomalyUs],
    ['forest verdict (promoted model path)', forestUs],
    ['buildRecord (GeoIP + rules + isolation forest + UUIDv7)', buildUs],
  ] as const)
    say(`| ${k} | ${v.toFixed(2)} |`);

  // --- 2. raw ceilings ---------------------------------------------------------------
  say('\nRaw PostgreSQL ceilings, same rows, one connection (rows/s):\n');
  say('| method | rows/s |\n| --- | ---: |');
  const ceilings: Record<string, number> = {};
  for (const [name, method] of Object.entries(METHODS)) {
    ceilings[name] = await measure(pool, method, records, BATCH);
    say(`| ${name} | ${fmt(ceilings[name])} |`);
  }
  await pool.query('TRUNCATE threat_events CASCADE');

  // --- 3. end to end over HTTP ---------------------------------------------------------
  const key = `tw_bench_${randomBytes(24).toString('base64url')}`;
  // The compiled server, started as `npm start` starts it (built first, so it is current).
  execSync('npm run build --silent', { cwd: fromRoot(), stdio: 'inherit' });
  const env = {
    DATABASE_URL: dbUrl,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ADMIN_API_KEY: key,
    NODE_ENV: 'production', // graphql-js runs extra instanceof checks outside production
    WORKERS: 'off',
    RATE_LIMIT_POINTS: '1000000',
    LOG_LEVEL: 'warn',
    // BENCH_SERVER_NODE_OPTIONS="--import …/bench/tools/cpu-profile-hook.mjs" profiles
    // instance 0 (SIGHUP starts, SIGUSR2 writes; sent around phases 3 and 4).
    ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
    ...(process.env.CPU_PROFILE_DIR ? { CPU_PROFILE_DIR: process.env.CPU_PROFILE_DIR } : {}),
    ...(process.env.PROFILE_KIND ? { PROFILE_KIND: process.env.PROFILE_KIND } : {}),
  };
  const cluster = serverGroup(env, key);
  await cluster.add(1); // the others start after phase 4, which has the host to itself
  const { servers } = cluster;
  const first = servers[0]!;
  const app = first.app;
  // Ctrl-C: stop the servers and drop the bench database before leaving.
  process.once('SIGINT', () => {
    void cluster
      .stop()
      .then(() => admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`))
      .finally(() => process.exit(130));
  });
  const cpuTimes = () => first.cpu();
  const post = (query: string, variables: unknown) => first.post(query, variables);
  const INGEST =
    'mutation($inputs: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $inputs) { accepted duplicates errors { index message } } }';
  try {
    // Warm up the server's JIT and give it an anomaly model, as a running deployment has.
    for (let i = 0; i < Math.min(EVENTS, 20_000); i += BATCH)
      await post(INGEST, { inputs: inputs.slice(i, i + BATCH) });
    await post('mutation { refitAnomalyModel { version } }', {});
    // Only with the profiling hook loaded: without a handler, SIGHUP would end the server.
    const profiling = /profile-hook/.test(process.env.BENCH_SERVER_NODE_OPTIONS ?? '');

    // --- 4. single events at a fixed rate (run first, before the bulk phase's rows) ------
    await singlePhase({ url: app.url, child: app.child, key, inputs, pool, cpu: cpuTimes, say, profiling });

    // More instances for phase 3: they load the anomaly model from the database at start;
    // each gets its own JIT warm-up.
    await cluster.add(Math.max(...INSTANCES) - 1);
    for (const s of servers.slice(1))
      for (let i = 0; i < Math.min(EVENTS, 10_000); i += BATCH)
        await s.post(INGEST, { inputs: inputs.slice(i, i + BATCH) });
    let received = 0;
    const client = createClient({
      url: app.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { apiKey: key },
      lazy: false,
    });
    client.subscribe(
      { query: 'subscription { threatDetected { id severity classification { category } } }' },
      {
        next: () => void (received += 1),
        error: (e) => console.error('subscriber error', e),
        complete: () => undefined,
      },
    );
    await new Promise((r) => setTimeout(r, 500));

    say('\nEnd to end: ingestThreatEvents over HTTP, one subscriber connected (to instance 0):\n');
    say(
      '| instances | batches in flight | events/s (HTTP) | % of unnest ceiling | server CPU µs/event | all delivered to subscriber after |',
    );
    say('| ---: | ---: | ---: | ---: | ---: | ---: |');
    const unnest = ceilings['INSERT … SELECT FROM unnest (the app’s own statement)'] ?? NaN;
    if (profiling) app.child.kill('SIGHUP'); // a profiling hook may start profiling on this signal
    for (const k of INSTANCES) {
      const used = servers.slice(0, k);
      const cpuSeconds = () => used.reduce((sum, s) => sum + s.cpu().total, 0);
      for (const c of CONCURRENCY) {
        await pool.query('TRUNCATE threat_events CASCADE');
        received = 0;
        const cpu0 = cpuSeconds();
        const t0 = performance.now();
        let nextBatch = 0;
        let accepted = 0;
        // Batches in flight are spread over the instances, as a load balancer would.
        await Promise.all(
          Array.from({ length: c }, async (_, lane) => {
            for (;;) {
              const start = nextBatch;
              nextBatch += BATCH;
              if (start >= EVENTS) return;
              const data = (await used[lane % k]!.post(INGEST, {
                inputs: inputs.slice(start, start + BATCH),
              })) as { ingestThreatEvents: { accepted: number } };
              accepted += data.ingestThreatEvents.accepted;
            }
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        const cpu = cpuSeconds() - cpu0;
        while (received < accepted && performance.now() - t0 < seconds * 1000 + 60_000)
          await new Promise((r) => setTimeout(r, 20));
        const deliveredS = (performance.now() - t0) / 1000;
        if (accepted !== EVENTS || received !== accepted)
          throw new Error(`accepted ${accepted}, delivered ${received} of ${EVENTS}`);
        say(
          `| ${k} | ${c} | ${fmt(EVENTS / seconds)} | ${((100 * EVENTS) / seconds / unnest).toFixed(0)} % | ${((cpu * 1e6) / EVENTS).toFixed(1)} | ${deliveredS.toFixed(1)} s (${seconds.toFixed(1)} s to ingest) |`,
        );
      }
    }
    await client.dispose();
    if (profiling) {
      app.child.kill('SIGUSR2'); // … and stop and write it on this one
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await cluster.stop();
  }
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
