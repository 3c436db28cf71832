/**
 * Statistics on 1,000,000 CrowdSec alerts: `DATABASE_URL=postgresql://… npx tsx bench/stats/stats.ts`
 * (optional ALERTS=…, ROUNDS=…; needs an external PostgreSQL, creates and drops its own
 * database).
 *
 * Generates alerts spread over 30 days (2,000 sources with a skewed distribution, 40
 * scenarios, 60 countries) and 100,000 decisions, then times each statistic three ways
 * in one process: "sql" = the whole-window SQL run directly with `pg` (the uncached
 * baseline), "cold" = StatsService with an empty cache, "cached" = the same service
 * once its closed buckets are cached (the open edges are still counted live). Prints
 * p50/p95 per case and EXPLAIN (ANALYZE, BUFFERS) of the baseline queries.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { MemoryCache } from '../../src/platform/cache.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { StatsService } from '../../src/stats/stats-service.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const ALERTS = Number(process.env.ALERTS ?? 1_000_000);
const DECISIONS = 100_000;
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');

const dbName = `tw_bench_stats_${process.pid}`;
const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });

try {
  await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
  const t0 = performance.now();
  // Skew: source i appears with weight ~ 1/(i+1) via power of a uniform number.
  await pool.query(
    `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
       lapi_created_at, source_scope, source_value, source_ip, country_code, decision_ids)
     SELECT 'http://lapi', g, 'crowdsecurity/scenario-' || (g % 40), 'bench', 5,
            now() - (random() * interval '30 days'), now(), now(), 'Ip',
            ip, ip, (ARRAY['US','CN','RU','DE','FR','NL','BR','IN','VN','KR'])[1 + (g % 10)] || '', '{}'
     FROM generate_series(1, $1::int) g,
          -- Referencing g keeps the subquery per row: uncorrelated, PostgreSQL ran it once
          -- and every alert had the same source (the figures before this fix).
          LATERAL (SELECT floor(power(random(), 3) * 2000)::int + 0 * g AS k) r,
          LATERAL (SELECT '10.' || (r.k / 250) || '.' || (r.k % 250) || '.1' AS ip) s`,
    [ALERTS],
  );
  await pool.query(
    `UPDATE crowdsec_alerts SET country_code = chr(65 + (id % 6)::int) || chr(65 + (id % 10)::int) WHERE id % 3 = 0`,
  );
  await pool.query(
    `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at,
       created_at, country_code, deleted_at)
     SELECT 'http://lapi', g, 'crowdsec', 'ban', 'Ip', '10.0.' || (g % 250) || '.' || (g / 250 % 250), 's',
            now() + (random() * interval '8 hours') - interval '2 hours', now() - (random() * interval '30 days'),
            (ARRAY['US','CN','RU','DE','FR'])[1 + (g % 5)], CASE WHEN g % 7 = 0 THEN now() END
     FROM generate_series(1, $1::int) g`,
    [DECISIONS],
  );
  await pool.query('VACUUM ANALYZE crowdsec_alerts');
  await pool.query('VACUUM ANALYZE crowdsec_decisions');
  console.log(
    `generated ${ALERTS} alerts and ${DECISIONS} decisions in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const source = new CrowdsecStatsRepository(pool);
  const day = new Date(Date.now() - 86_400_000);
  const month = new Date(Date.now() - 30 * 86_400_000);
  const baseline: Record<string, [string, unknown[]]> = {
    'statsSummary 30d': [
      `SELECT (SELECT count(*) FROM crowdsec_alerts WHERE start_at >= $1),
              (SELECT count(*) FROM (SELECT source_value FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1) a),
              (SELECT count(*) FROM crowdsec_decisions WHERE created_at >= $1),
              (SELECT count(*) FROM crowdsec_decisions WHERE deleted_at IS NULL AND expires_at > now())`,
      [month],
    ],
    'topAttackers 30d': [
      `SELECT source_value, count(*) AS n FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1 ORDER BY n DESC LIMIT 10`,
      [month],
    ],
    'topScenarios 30d': [
      `SELECT scenario, count(*) AS n FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1 ORDER BY n DESC LIMIT 10`,
      [month],
    ],
    'countryStats 30d': [
      `SELECT country_code, count(*) FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1`,
      [month],
    ],
    'timeSeries HOUR 24h': [
      `SELECT date_trunc('hour', start_at, 'UTC'), count(*) FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1`,
      [day],
    ],
    'timeSeries DAY 30d': [
      `SELECT date_trunc('day', start_at, 'UTC'), count(*) FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1`,
      [month],
    ],
  };
  const viaService: Record<string, (s: StatsService) => Promise<unknown>> = {
    'statsSummary 30d': (s) => s.summary(month),
    'topAttackers 30d': (s) => s.topAttackers(month, 10),
    'topScenarios 30d': (s) => s.topScenarios(month, 10),
    'countryStats 30d': (s) => s.countryStats(month, 50),
    'timeSeries HOUR 24h': (s) => s.timeSeries('HOUR', day, null),
    'timeSeries DAY 30d': (s) => s.timeSeries('DAY', month, null),
  };

  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const time = async (fn: () => Promise<unknown>) => {
    const s = performance.now();
    await fn();
    return performance.now() - s;
  };
  const warm = new StatsService(new MemoryCache(), { sources: [source], topLists: source });
  console.log('\n| query | sql p50 | sql p95 | cold p50 | cold p95 | cached p50 | cached p95 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const name of Object.keys(baseline)) {
    const [sql, params] = baseline[name]!;
    const fn = viaService[name]!;
    await fn(warm);
    const r = { sql: [] as number[], cold: [] as number[], cached: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      r.sql.push(await time(() => pool.query(sql, params)));
      r.cold.push(
        await time(() => fn(new StatsService(new MemoryCache(), { sources: [source], topLists: source }))),
      );
      r.cached.push(await time(() => fn(warm)));
    }
    const f = (xs: number[]) => `${pct(xs, 0.5).toFixed(1)} ms | ${pct(xs, 0.95).toFixed(1)} ms`;
    console.log(`| ${name} | ${f(r.sql)} | ${f(r.cold)} | ${f(r.cached)} |`);
  }

  // The distinct counts of statsSummary, as they were (count(DISTINCT): a sort of the
  // window) and as they are (GROUP BY subqueries: hash aggregates over covering indexes).
  const distinctForms: Record<string, string> = {
    'distinct attackers+scenarios, count(DISTINCT) (before)': `SELECT count(DISTINCT source_value),
       count(DISTINCT scenario) FROM crowdsec_alerts WHERE start_at >= $1`,
    'distinct attackers+scenarios, GROUP BY (now)': `SELECT
       (SELECT count(*) FROM (SELECT source_value FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1) a),
       (SELECT count(*) FROM (SELECT scenario FROM crowdsec_alerts WHERE start_at >= $1 GROUP BY 1) s)`,
  };
  console.log('\n| sql 30d | p50 | p95 |\n|---|---|---|');
  for (const [name, sql] of Object.entries(distinctForms)) {
    const xs: number[] = [];
    for (let i = 0; i < Math.min(ROUNDS, 7); i++) xs.push(await time(() => pool.query(sql, [month])));
    console.log(`| ${name} | ${pct(xs, 0.5).toFixed(1)} ms | ${pct(xs, 0.95).toFixed(1)} ms |`);
  }

  // Plans of the queries StatsService runs (crowdsec-stats-repository.ts), uncached.
  const plans: Record<string, [string, unknown[]]> = {
    ...Object.fromEntries(Object.entries(distinctForms).map(([k, sql]) => [k, [sql, [month]]])),
    'topAttackers 30d': [
      `SELECT source_value AS value, sum(n)::int AS alerts, count(*)::int AS scenarios, max(last) AS last
       FROM (SELECT source_value, scenario, count(*) AS n, max(start_at) AS last FROM crowdsec_alerts
             WHERE start_at >= $1 GROUP BY source_value, scenario) pairs
       GROUP BY source_value ORDER BY alerts DESC, last DESC LIMIT 10`,
      [month],
    ],
    'topScenarios 30d': [
      `SELECT scenario, sum(n)::int AS alerts, count(*)::int AS attackers
       FROM (SELECT scenario, source_value, count(*) AS n FROM crowdsec_alerts WHERE start_at >= $1
             GROUP BY scenario, source_value) pairs GROUP BY scenario ORDER BY alerts DESC, scenario LIMIT 10`,
      [month],
    ],
    'countsByBucket alerts DAY 30d (countryStats, timeSeries DAY)': [
      `SELECT date_trunc('day', start_at, 'UTC') AS bucket, country_code, count(*)::int AS n
       FROM crowdsec_alerts WHERE start_at >= $1 AND start_at < now() GROUP BY 1, 2`,
      [month],
    ],
    'countsByBucket alerts HOUR 24h (timeSeries HOUR)': [
      `SELECT date_trunc('hour', start_at, 'UTC') AS bucket, country_code, count(*)::int AS n
       FROM crowdsec_alerts WHERE start_at >= $1 AND start_at < now() GROUP BY 1, 2`,
      [day],
    ],
    'active decisions per country': [
      `SELECT country_code, count(*)::int AS n FROM crowdsec_decisions
       WHERE deleted_at IS NULL AND expires_at > now() GROUP BY 1`,
      [],
    ],
  };
  for (const [name, [sql, params]] of Object.entries(plans)) {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`,
      params,
    );
    console.log(`\nEXPLAIN ${name}:\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  }
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
