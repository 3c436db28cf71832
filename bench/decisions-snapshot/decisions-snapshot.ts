/**
 * Startup snapshot of 100,000 CrowdSec decisions:
 * `DATABASE_URL=postgresql://… npx tsx bench/decisions-snapshot/decisions-snapshot.ts` (optional
 * DECISIONS=…; creates and drops its own database).
 *
 * A loopback fake bouncer stream (test/fakes/fake-lapi-snapshot.ts) serves the same
 * generated body (~16 MB) to every case; each case runs in a child process of its
 * own, so that its peak RSS is not inherited from the one before, against an emptied
 * decisions table:
 * - `poller`: the real path — DecisionsPoller → streamed snapshot → GeoIP → unnest
 *   upserts in batches of 1,000 → reconciliation.
 * - `buffered`: the previous path — the whole body read and JSON.parse'd + validated
 *   (`decisionsStream({ startup: true })`), then the same repository batches.
 * - `stream parse` / `buffered parse`: the two ways of reading the body, no database.
 * - `raw unnest`: the database ceiling — the same rows as plain `pg` unnest INSERTs in
 *   batches of 1,000, no HTTP, no parsing, no GeoIP, no RETURNING.
 * Memory is sampled every 5 ms: RSS growth over the child's idle baseline and peak heap.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DecisionRepository, type DecisionInput } from '../../src/crowdsec/decision-repository.js';
import { DecisionsPoller } from '../../src/crowdsec/decisions-poller.js';
import { NO_GEO, locateColumns } from '../../src/crowdsec/crowdsec-geo.js';
import { TOPICS } from '../../src/crowdsec/crowdsec-types.js';
import { LapiClient } from '../../src/crowdsec/lapi-client.js';
import { GeoService } from '../../src/geo/geo-service.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { BOUNCER_KEY, decisionIp, startFakeLapiSnapshot } from '../../test/fakes/fake-lapi-snapshot.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const COUNT = Number(process.env.DECISIONS ?? 100_000);
const CASES = ['poller', 'buffered', 'stream parse', 'buffered parse', 'raw unnest'] as const;
type Case = (typeof CASES)[number];
interface Result {
  stored: number;
  ms: number;
  rssGrowthMb: number;
  peakHeapMb: number;
}
const logger = createLogger({ log: { level: 'silent', pretty: false } });
const MB = 1024 * 1024;

async function runCase(which: Case, dbUrl: string, lapiUrl: string): Promise<Result> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  const geo = await GeoService.open({}, logger);
  const repo = new DecisionRepository(pool);
  const client = new LapiClient({
    baseUrl: lapiUrl,
    bouncerKey: BOUNCER_KEY,
    userAgent: 'threatwire/bench',
    timeoutMs: 60_000,
    logger,
  });
  await pool.query('SELECT 1');
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  // Timer samples miss synchronous stretches (a whole JSON.parse): sample() is also
  // called where a case holds its largest data.
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 5);
  const bus = new MemoryEventBus();
  const started = performance.now();
  const toInput = (d: {
    id: number;
    origin: string;
    type: string;
    scope: string;
    value: string;
    scenario: string;
  }): DecisionInput => ({
    crowdsecId: d.id,
    origin: d.origin,
    type: d.type,
    scope: d.scope,
    value: d.value,
    scenario: d.scenario,
    simulated: false,
    expiresAt: new Date(Date.now() + 3_600_000),
    geo: locateColumns(geo, d.scope, d.value),
  });
  let stored = 0;
  if (which === 'poller') {
    const poller = new DecisionsPoller({ lapiUrl, client, repo, geo, bus, logger });
    stored = (await poller.poll()).added;
  } else if (which === 'buffered') {
    // What the poller did before: the whole body, then the same batches and events.
    const res = await client.decisionsStream({ startup: true });
    sample();
    for (let i = 0; i < res.new.length; i += 1000) {
      const inserted = await repo.upsertBatch(lapiUrl, res.new.slice(i, i + 1000).map(toInput));
      await Promise.all(inserted.map((r) => bus.publish(TOPICS.decisionAdded, r)));
      stored += inserted.length;
    }
  } else if (which === 'stream parse') {
    for await (const b of client.decisionsSnapshot()) {
      sample();
      if (b.list === 'new') stored += b.decisions.length;
    }
  } else if (which === 'buffered parse') {
    const res = await client.decisionsStream({ startup: true });
    sample(); // measured while the parsed body is still held
    stored = res.new.length;
  } else {
    for (let i = 1; i <= COUNT; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, COUNT - i + 1) }, (_, k) => i + k);
      const r = await pool.query(
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, simulated,
           expires_at, country_code)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::boolean[], $9::timestamptz[], $10::text[])`,
        [
          lapiUrl,
          ids,
          ids.map(() => 'crowdsec'),
          ids.map(() => 'ban'),
          ids.map(() => 'Ip'),
          ids.map(decisionIp),
          ids.map(() => 'crowdsecurity/ssh-bf'),
          ids.map(() => false),
          ids.map(() => new Date(Date.now() + 3_600_000)),
          ids.map(() => NO_GEO.country_code),
        ],
      );
      stored += r.rowCount ?? 0;
    }
  }
  const ms = performance.now() - started;
  clearInterval(sampler);
  await pool.end();
  return { stored, ms, rssGrowthMb: (peakRss - base.rss) / MB, peakHeapMb: peakHeap / MB };
}

if (process.env.BENCH_CASE) {
  const result = await runCase(
    process.env.BENCH_CASE as Case,
    process.env.BENCH_DB!,
    process.env.BENCH_LAPI!,
  );
  process.send!(result);
  process.exit(0);
}

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');
const dbName = `tw_bench_snapshot_${process.pid}`;
const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
const fake = await startFakeLapiSnapshot({ count: COUNT, deleted: 0 });
try {
  await migrate(pool, { logger });
  console.log(
    `${COUNT} decisions, body ${(fake.body().length / MB).toFixed(1)} MiB, Node ${process.version}`,
  );
  console.log(
    '\n| case | stored | time | decisions/s | peak RSS growth | peak heap |\n|---|---|---|---|---|---|',
  );
  for (const which of CASES) {
    await pool.query('TRUNCATE crowdsec_decisions');
    const child = fork(process.argv[1]!, [], {
      execArgv: process.execArgv,
      env: { ...process.env, BENCH_CASE: which, BENCH_DB: url.toString(), BENCH_LAPI: fake.url },
    });
    const r = await new Promise<Result>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Result));
      child.once('exit', (code) => reject(new Error(`case ${which} exited with ${code}`)));
    });
    console.log(
      `| ${which} | ${r.stored} | ${(r.ms / 1000).toFixed(2)} s | ${Math.round(r.stored / (r.ms / 1000))} | ` +
        `${r.rssGrowthMb.toFixed(0)} MiB | ${r.peakHeapMb.toFixed(0)} MiB |`,
    );
  }
} finally {
  await fake.stop();
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
