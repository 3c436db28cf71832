/**
 * IOC sightings of a page of IP IOCs, with and without the alerts' source-IP index:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test npm run bench -- sightings
 * Options (env): EVENTS (300000), ALERTS (100000), DECISIONS (50000), ADDRESSES (2000),
 * PAGE (25 IOCs per batch), BATCHES (20 per measurement), ROUNDS (3).
 *
 * Generates threat events, CrowdSec alerts and decisions spread evenly over ADDRESSES
 * addresses in a database of its own (INSERT … SELECT FROM generate_series), then times
 * IocSightingRepository.sightingsOf — the one statement behind `Ioc.sightings` for a page
 * — for pages of PAGE addresses (a third of them never seen). Each round measures the
 * baseline (the schema before the index: crowdsec_alerts_source_ip_start_at_idx dropped)
 * and then the current schema (the index created again), BATCHES batches each; the
 * figure per variant is the median over rounds of the per-batch median. Prints the plan
 * of one batch for both, and `uptime` before and after.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { IocSightingRepository } from '../../src/iocs/ioc-sighting-repository.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const EVENTS = Number(process.env.EVENTS ?? 300_000);
const ALERTS = Number(process.env.ALERTS ?? 100_000);
const DECISIONS = Number(process.env.DECISIONS ?? 50_000);
const ADDRESSES = Number(process.env.ADDRESSES ?? 2_000);
const PAGE = Number(process.env.PAGE ?? 25);
const BATCHES = Number(process.env.BATCHES ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');

const INDEX = 'crowdsec_alerts_source_ip_start_at_idx';
const CREATE_INDEX = `CREATE INDEX "${INDEX}" ON "crowdsec_alerts"("source_ip", "start_at")`;
/** Address number i (0 ≤ i < 65,536) as 45.0.x.y. */
const ADDRESS_SQL = (i: string) => `'45.0.' || ((${i}) / 256) || '.' || ((${i}) % 256)`;
const address = (i: number) => `45.0.${Math.floor(i / 256)}.${i % 256}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const uptime = () => execSync('uptime').toString().trim();

const dbName = `tw_bench_sightings_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const pool = new pg.Pool({
  connectionString: Object.assign(new URL(databaseUrl), { pathname: `/${dbName}` }).toString(),
  max: 2,
});
// DROP DATABASE … WITH (FORCE) at the end ends any connection still open: not an error here.
pool.on('error', () => undefined);
try {
  console.log(`load before: ${uptime()}`);
  await migrate(pool, { logger: pino({ level: 'silent' }) });
  const n = ADDRESS_SQL(`g % ${ADDRESSES}`);
  await pool.query(`INSERT INTO threat_events (id, source_ip, threat_type, severity, confidence, occurred_at,
      category, category_confidence, classification_method)
    SELECT gen_random_uuid(), (${n})::inet, 'scan', 3, 1, now() - make_interval(secs => g), 'SCAN', 1, 'RULES'
    FROM generate_series(1, ${EVENTS}) g`);
  await pool.query(`INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at,
      stop_at, lapi_created_at, source_scope, source_value, source_ip, decision_ids)
    SELECT 'http://lapi', g, 'crowdsecurity/ssh-bf', 'm', 1, now() - make_interval(secs => g), now(), now(),
      'Ip', ${n}, ${n}, '{}'
    FROM generate_series(1, ${ALERTS}) g`);
  await pool.query(`INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario,
      expires_at, created_at)
    SELECT 'http://lapi', g, 'crowdsec', 'ban', 'Ip', ${n}, 'crowdsecurity/ssh-bf', now(),
      now() - make_interval(secs => g)
    FROM generate_series(1, ${DECISIONS}) g`);
  await pool.query('VACUUM ANALYZE');
  console.log(
    `generated ${EVENTS} events, ${ALERTS} alerts, ${DECISIONS} decisions over ${ADDRESSES} addresses`,
  );

  const repo = new IocSightingRepository(pool);
  // A third of each page was never seen (addresses past ADDRESSES).
  const page = (b: number) =>
    Array.from({ length: PAGE }, (_, i) => ({
      type: 'IPV4' as const,
      value: address(i % 3 === 2 ? ADDRESSES + ((b * PAGE + i) % 1000) : (b * PAGE + i) % ADDRESSES),
    }));
  const measure = async (): Promise<number> => {
    const times: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now();
      await repo.sightingsOf(page(b));
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  const plan = async () => {
    const proxy = Object.create(pool) as pg.Pool;
    let text = '';
    proxy.query = (async (q: pg.QueryConfig) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>({
        text: `EXPLAIN (ANALYZE, COSTS OFF) ${q.text}`,
        values: q.values,
      });
      text = rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n');
      return { rows: [] };
    }) as unknown as pg.Pool['query'];
    await new IocSightingRepository(proxy).sightingsOf(page(0));
    return text;
  };

  const before: number[] = [];
  const after: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await pool.query(`DROP INDEX "${INDEX}"`);
    await measure(); // warm the cache and the named statement
    before.push(await measure());
    if (r === ROUNDS) console.log(`\nplan without the index:\n${await plan()}`);
    await pool.query(CREATE_INDEX);
    await pool.query('ANALYZE crowdsec_alerts');
    await measure();
    after.push(await measure());
    if (r === ROUNDS) console.log(`\nplan with the index:\n${await plan()}`);
    console.log(
      `round ${r}: before ${before.at(-1)!.toFixed(1)} ms, after ${after.at(-1)!.toFixed(1)} ms per batch of ${PAGE}`,
    );
  }
  const b = median(before);
  const a = median(after);
  console.log(
    `\nsightingsOf(${PAGE} IOCs), median over ${ROUNDS} rounds of the median of ${BATCHES} batches:` +
      `\n  without ${INDEX} (before): ${b.toFixed(1)} ms\n  with it (after):           ${a.toFixed(1)} ms` +
      `\n  ratio: ${(b / a).toFixed(1)}×`,
  );
  console.log(`load after: ${uptime()}`);
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
