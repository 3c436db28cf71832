/**
 * Statistics from rollups on millions of alerts and threat events: `DATABASE_URL=postgresql://… npx tsx bench/stats/stats.ts`
 * (optional ALERTS=… THREATS=… DAYS=… ROUNDS=…; defaults 1,000,000 each over 365 days;
 * needs an external PostgreSQL, creates and drops its own database).
 *
 * Generates the rows IN THE DATABASE (generate_series, 1,000,000 rows per statement,
 * through the same journal triggers as every write, each chunk then compacted into the
 * rollups by the workers' function, one chunk per statement; the IOC sighting triggers
 * are off meanwhile, there being no IOCs): alerts from 2,000
 * sources with a skewed distribution, three scenarios per source out of 40, 10
 * countries; 100,000 decisions; threat events from 20,000 skewed sources, 12 ports,
 * 8 threat types, 11 categories, severities 1–10, 10 countries with map points. Then
 * times every statistic over the last 30 days three ways: "direct" = a hand-written
 * query over the same rollup tables run with `pg` (whole days; no edge handling),
 * "cold" = a fresh StatsService (empty application cache) per call, "warm" = one
 * service called again (its short-lived answers may be cached). PostgreSQL's own
 * buffers are as the previous rounds left them in all three. Prints p50/p95 per case.
 */
import { statfsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { MemoryCache } from '../../src/platform/cache.js';
import { compactJournal } from '../../src/platform/rollup-compaction.js';
import { SESSION_OPTIONS } from '../../src/platform/database.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { CrowdsecStatsRepository } from '../../src/crowdsec/crowdsec-stats-repository.js';
import { ThreatStatsRepository } from '../../src/threats/threat-stats-repository.js';
import { StatsService } from '../../src/stats/stats-service.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const ALERTS = Number(process.env.ALERTS ?? 1_000_000);
const THREATS = Number(process.env.THREATS ?? ALERTS);
const DAYS = Number(process.env.DAYS ?? 365);
const DECISIONS = 100_000;
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const CHUNK = 1_000_000;
/** Rough bytes per row with its indexes and WAL, for the free-space check. */
const BYTES_PER_ROW = 1_500;
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');

/** KEEP_DB=name: generate into that database once, keep it, and reuse it on later runs. */
const keepDb = process.env.KEEP_DB;
if (keepDb !== undefined && !/^[a-z_][a-z0-9_]*$/.test(keepDb))
  throw new Error('KEEP_DB: a lower-case identifier');
const dbName = keepDb ?? `tw_bench_stats_${process.pid}`;
const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
// The server's data directory, when it is on this machine: refuse to fill its disk.
try {
  const { rows } = await admin.query<{ data_directory: string }>('SHOW data_directory');
  const fs = statfsSync(rows[0]!.data_directory);
  const free = fs.bavail * fs.bsize;
  const need = (ALERTS + THREATS) * BYTES_PER_ROW;
  console.log(`free space ${(free / 1e9).toFixed(1)} GB; this run needs about ${(need / 1e9).toFixed(1)} GB`);
  if (free < need * 1.5) throw new Error('not enough free disk space for this run');
} catch (err) {
  if (err instanceof Error && err.message.startsWith('not enough')) throw err;
  console.log('data directory not readable from here: free space not checked');
}
const reuse =
  keepDb !== undefined &&
  (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [keepDb])).rowCount === 1;
if (!reuse) await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
const pool = new pg.Pool({ connectionString: url.toString(), max: 4, options: SESSION_OPTIONS });

const COUNTRIES = `(ARRAY['US','CN','RU','DE','FR','NL','BR','IN','VN','KR'])`;
const LATS = `(ARRAY[39.8,35.0,61.5,51.2,46.2,52.1,-14.2,20.6,14.1,35.9])`;
const LONS = `(ARRAY[-98.6,103.8,105.3,10.5,2.2,5.3,-51.9,79.0,108.3,127.8])`;
const CATEGORIES = `(ARRAY['BRUTEFORCE','SCAN','EXPLOIT','MALWARE','PHISHING','DDOS','BOTNET','SPAM','PROXY','CRAWLER','OTHER'])`;

const crowdsec = new CrowdsecStatsRepository(pool);
const threats = new ThreatStatsRepository(pool);
/** What the compaction workers do, a chunk's journal rows per statement. */
const compactAll = async () => {
  let moved = 0;
  for (const journal of ['stats_alert_pending', 'stats_decision_pending', 'stats_threat_pending'])
    moved += await compactJournal(pool, journal, undefined, CHUNK);
  return moved;
};
/** Triggers that only keep IOC sighting times: there are no IOCs here, so they are off while generating. */
const SIGHTING_TRIGGERS = [
  ['crowdsec_alerts', 'crowdsec_alerts_sight_iocs'],
  ['crowdsec_decisions', 'crowdsec_decisions_sight_iocs'],
  ['threat_events', 'threat_events_sight_iocs'],
];

async function generate(): Promise<void> {
  // Secondary indexes are built once after the rows are in (what a restore does), not
  // row by row: random times over a year make incremental index inserts the slowest part.
  const { rows: indexes } = await pool.query<{ name: string; def: string }>(
    `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relname IN ('crowdsec_alerts', 'crowdsec_decisions', 'threat_events')
        AND NOT x.indisprimary AND NOT x.indisunique`,
  );
  for (const i of indexes) await pool.query(`DROP INDEX ${i.name}`);
  for (const [table, trigger] of SIGHTING_TRIGGERS)
    await pool.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
  const chunks = async (total: number, label: string, sql: string) => {
    for (let from = 1; from <= total; from += CHUNK) {
      const t = performance.now();
      await pool.query(sql, [from, Math.min(total, from + CHUNK - 1), DAYS]);
      const inserted = performance.now();
      const moved = await compactAll();
      console.log(
        `${label} ${Math.min(total, from + CHUNK - 1)}/${total}: insert ${((inserted - t) / 1000).toFixed(1)} s, ` +
          `compaction of ${moved} journal rows ${((performance.now() - inserted) / 1000).toFixed(1)} s`,
      );
    }
  };
  // Skew: source k with weight ~ power of a uniform number. Referencing g keeps each
  // LATERAL subquery per row (uncorrelated, PostgreSQL would run it once). Times rise
  // with g (spread evenly over DAYS, a random offset within each row's slot), so rows
  // are stored in time order as appended events are; random times over the whole year
  // would scatter every time range over the table.
  await chunks(
    ALERTS,
    'alerts',
    `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
       lapi_created_at, source_scope, source_value, source_ip, country_code, decision_ids)
     SELECT 'http://lapi', g, 'crowdsecurity/scenario-' || ((r.k * 7 + g % 3) % 40), 'bench', 5, r.t, r.t, r.t,
            'Ip', s.ip, s.ip, ${COUNTRIES}[1 + r.k % 10], '{}'
     FROM generate_series($1::int, $2::int) g,
          LATERAL (SELECT floor(power(random(), 3) * 2000)::int + 0 * g AS k,
                          now() - make_interval(days => $3::int) * (1 - (g - 1 + random()) / ${ALERTS}) AS t) r,
          LATERAL (SELECT '10.' || (r.k / 250) || '.' || (r.k % 250) || '.1' AS ip) s`,
  );
  await pool.query(
    `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at,
       created_at, country_code, deleted_at)
     SELECT 'http://lapi', g, 'crowdsec', 'ban', 'Ip', '10.0.' || (g % 250) || '.' || (g / 250 % 250), 's',
            now() + (random() * interval '8 hours') - interval '2 hours',
            now() - random() * make_interval(days => $2::int), ${COUNTRIES}[1 + (g % 10)], CASE WHEN g % 7 = 0 THEN now() END
     FROM generate_series(1, $1::int) g`,
    [DECISIONS, DAYS],
  );
  await compactAll();
  await chunks(
    THREATS,
    'threat events',
    `INSERT INTO threat_events (source_ip, destination_ip, destination_port, protocol, threat_type, severity,
       confidence, occurred_at, country_code, latitude, longitude, geo_approximate, category,
       category_confidence, classification_method)
     SELECT ('100.' || (r.k / 250 % 250) || '.' || (r.k % 250) || '.1')::inet, '10.0.0.1'::inet,
            (ARRAY[22,23,80,443,445,3389,8080,5900,25,53,3306,6379])[1 + (r.k + g % 2) % 12], 'tcp',
            'type-' || (r.k % 8), 1 + r.k % 10, 0.9, r.t, ${COUNTRIES}[1 + r.k % 10],
            ${LATS}[1 + r.k % 10], ${LONS}[1 + r.k % 10], true, ${CATEGORIES}[1 + r.k % 11]::"ThreatCategory",
            0.8, 'RULES'
     FROM generate_series($1::int, $2::int) g,
          LATERAL (SELECT floor(power(random(), 3) * 20000)::int + 0 * g AS k,
                          now() - make_interval(days => $3::int) * (1 - (g - 1 + random()) / ${THREATS}) AS t) r`,
  );
  for (const [table, trigger] of SIGHTING_TRIGGERS)
    await pool.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
  const built = performance.now();
  for (const i of indexes) await pool.query(i.def);
  console.log(
    `${indexes.length} secondary indexes built in ${((performance.now() - built) / 1000).toFixed(1)} s`,
  );
  for (const table of ['crowdsec_alerts', 'crowdsec_decisions', 'threat_events'])
    await pool.query(`VACUUM ANALYZE ${table}`);
  const { rows } = await pool.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relname LIKE 'stats\\_%' AND relkind = 'r'`,
  );
  for (const r of rows) await pool.query(`VACUUM ANALYZE ${r.relname}`);
}

try {
  await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
  const t0 = performance.now();
  if (reuse) console.log(`reusing the data in ${dbName}`);
  else await generate();
  console.log(
    `generated ${ALERTS} alerts, ${DECISIONS} decisions and ${THREATS} threat events over ${DAYS} days in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const sizes = await pool.query<{ relname: string; rows: string; size: string }>(
    `SELECT relname, reltuples::bigint::text AS rows, pg_size_pretty(pg_total_relation_size(oid)) AS size
       FROM pg_class WHERE relkind = 'r' AND (relname LIKE 'stats\\_%' OR relname IN
         ('crowdsec_alerts', 'crowdsec_decisions', 'threat_events')) ORDER BY relname`,
  );
  console.log('\n| table | rows | size |\n|---|---|---|');
  for (const r of sizes.rows) console.log(`| ${r.relname} | ${r.rows} | ${r.size} |`);

  const service = () =>
    new StatsService(new MemoryCache(), { sources: [crowdsec, threats], topLists: crowdsec });
  const now = Date.now();
  const month = new Date(now - 30 * 86_400_000);
  const day = new Date(now - 86_400_000);
  // Whole days (hours) of the same window, for the direct queries.
  const d0 = new Date(Math.ceil(month.getTime() / 86_400_000) * 86_400_000);
  const d1 = new Date(Math.floor(now / 86_400_000) * 86_400_000);
  const h0 = new Date(Math.ceil(day.getTime() / 3_600_000) * 3_600_000);
  const h1 = new Date(Math.floor(now / 3_600_000) * 3_600_000);
  const prev0 = new Date(d0.getTime() - (d1.getTime() - d0.getTime()));
  const w = `bucket >= $1 AND bucket < $2`;
  const cases: Record<
    string,
    { direct: [string, unknown[]][]; service: (s: StatsService) => Promise<unknown> }
  > = {
    statsSummary: {
      direct: [
        [
          `SELECT (SELECT sum(n) FROM stats_alert_daily WHERE ${w}), (SELECT sum(n) FROM stats_decision_daily WHERE ${w}),
                  (SELECT sum(n) FROM stats_threat_daily WHERE ${w}),
                  (SELECT count(*) FROM (SELECT source_value FROM stats_alert_source_daily WHERE ${w} GROUP BY 1) a),
                  (SELECT count(*) FROM (SELECT scenario FROM stats_alert_source_daily WHERE ${w} GROUP BY 1) s),
                  (SELECT count(*) FROM crowdsec_decisions WHERE deleted_at IS NULL AND expires_at > now())`,
          [d0, d1],
        ],
      ],
      service: (s) => s.summary(month),
    },
    countryStats: {
      direct: [
        [
          `SELECT country_code, sum(n) FROM (SELECT country_code, n FROM stats_alert_daily WHERE ${w}
             UNION ALL SELECT country_code, n FROM stats_decision_daily WHERE ${w}
             UNION ALL SELECT country_code, n FROM stats_threat_daily WHERE ${w}) c GROUP BY 1`,
          [d0, d1],
        ],
      ],
      service: (s) => s.countryStats(month, 50),
    },
    topAttackers: {
      direct: [
        [
          `SELECT source_value, sum(n) AS n, count(*) FROM (SELECT source_value, scenario, sum(n) AS n
             FROM stats_alert_source_daily WHERE ${w} GROUP BY 1, 2) p GROUP BY 1 ORDER BY n DESC LIMIT 10`,
          [d0, d1],
        ],
      ],
      service: (s) => s.topAttackers(month, 10),
    },
    topScenarios: {
      direct: [
        [
          `SELECT scenario, sum(n) AS n, count(*) FROM (SELECT scenario, source_value, sum(n) AS n
             FROM stats_alert_source_daily WHERE ${w} GROUP BY 1, 2) p GROUP BY 1 ORDER BY n DESC LIMIT 10`,
          [d0, d1],
        ],
      ],
      service: (s) => s.topScenarios(month, 10),
    },
    'timeSeries HOUR 24h': {
      direct: [
        [
          `SELECT bucket, sum(n) FROM (SELECT bucket, n FROM stats_alert_hourly WHERE ${w}
             UNION ALL SELECT bucket, n FROM stats_decision_hourly WHERE ${w}
             UNION ALL SELECT bucket, n FROM stats_threat_hourly WHERE ${w}) c GROUP BY 1`,
          [h0, h1],
        ],
      ],
      service: (s) => s.timeSeries('HOUR', day, null),
    },
    'timeSeries DAY 30d': {
      direct: [
        [
          `SELECT bucket, sum(n) FROM (SELECT bucket, n FROM stats_alert_daily WHERE ${w}
             UNION ALL SELECT bucket, n FROM stats_decision_daily WHERE ${w}
             UNION ALL SELECT bucket, n FROM stats_threat_daily WHERE ${w}) c GROUP BY 1`,
          [d0, d1],
        ],
      ],
      service: (s) => s.timeSeries('DAY', month, null),
    },
    threatMap: {
      direct: [
        [
          `SELECT country_code, city, latitude, longitude, approximate, sum(n) AS n, max(severity)
             FROM stats_threat_map_daily WHERE ${w} GROUP BY 1, 2, 3, 4, 5 ORDER BY n DESC LIMIT 5000`,
          [d0, d1],
        ],
      ],
      service: () => threats.map({ since: month, until: new Date() }, 1, null, 5000),
    },
    'threatStats CATEGORY, previous': {
      direct: [
        [
          `SELECT category, sum(n) AS n FROM stats_threat_daily WHERE ${w} GROUP BY 1 ORDER BY n DESC LIMIT 50`,
          [d0, d1],
        ],
        [`SELECT category, sum(n) AS n FROM stats_threat_daily WHERE ${w} GROUP BY 1`, [prev0, d0]],
      ],
      service: (s) => s.threatStats({ since: month, groupBy: ['CATEGORY'], previous: true }),
    },
    'threatStats COUNTRY+SEVERITY': {
      direct: [
        [
          `SELECT country_code, severity, sum(n) AS n FROM stats_threat_daily WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC LIMIT 50`,
          [d0, d1],
        ],
      ],
      service: (s) => s.threatStats({ since: month, groupBy: ['COUNTRY', 'SEVERITY'] }),
    },
    'threatStats SOURCE_IP': {
      direct: [
        [
          `SELECT source_ip, sum(n) AS n FROM stats_threat_source_daily WHERE ${w} GROUP BY 1 ORDER BY n DESC LIMIT 50`,
          [d0, d1],
        ],
      ],
      service: (s) => s.threatStats({ since: month, groupBy: ['SOURCE_IP'] }),
    },
    'threatStats DESTINATION_PORT': {
      direct: [
        [
          `SELECT destination_port, sum(n) AS n FROM stats_threat_port_daily WHERE ${w} GROUP BY 1 ORDER BY n DESC LIMIT 50`,
          [d0, d1],
        ],
      ],
      service: (s) => s.threatStats({ since: month, groupBy: ['DESTINATION_PORT'] }),
    },
    'threatTimeSeries DAY by CATEGORY': {
      direct: [
        [`SELECT bucket, category, sum(n) FROM stats_threat_daily WHERE ${w} GROUP BY 1, 2`, [d0, d1]],
      ],
      service: (s) => s.threatTimeSeries({ bucket: 'DAY', since: month, groupBy: 'CATEGORY' }),
    },
  };

  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const time = async (fn: () => Promise<unknown>) => {
    const s = performance.now();
    await fn();
    return performance.now() - s;
  };
  const warm = service();
  console.log(
    `\n| statistic (30 days unless named) | direct p50 | direct p95 | cold p50 | cold p95 | warm p50 | warm p95 | cold p95 / direct p95 |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, c] of Object.entries(cases)) {
    const direct = () => Promise.all(c.direct.map(([sql, params]) => pool.query(sql, params)));
    await direct();
    await c.service(warm);
    const r = { direct: [] as number[], cold: [] as number[], warm: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      r.direct.push(await time(direct));
      r.cold.push(await time(() => c.service(service())));
      r.warm.push(await time(() => c.service(warm)));
    }
    const f = (xs: number[]) => `${pct(xs, 0.5).toFixed(1)} ms | ${pct(xs, 0.95).toFixed(1)} ms`;
    const ratio = (pct(r.cold, 0.95) / pct(r.direct, 0.95)).toFixed(2);
    console.log(`| ${name} | ${f(r.direct)} | ${f(r.cold)} | ${f(r.warm)} | ${ratio} |`);
  }

  // What the statistics cost a write: 1,000-event INSERTs (one group commit's batch, late
  // rows over the last 30 days) with the journal trigger on and off, and the compaction
  // that moves those 1,000 journal rows into the rollups later, off the writer's path.
  const batch = `INSERT INTO threat_events (source_ip, destination_port, threat_type, severity, confidence,
       occurred_at, country_code, latitude, longitude, category, category_confidence, classification_method)
     SELECT ('100.1.' || (g % 250) || '.1')::inet, 22, 'type-' || (g % 8), 1 + g % 10, 0.9,
            now() - random() * interval '30 days', ${COUNTRIES}[1 + g % 10], ${LATS}[1 + g % 10],
            ${LONS}[1 + g % 10], ${CATEGORIES}[1 + g % 11]::"ThreatCategory", 0.8, 'RULES'
     FROM generate_series(1, 1000) g`;
  const writes: Record<string, number[]> = { on: [], off: [], compaction: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ['on', 'off'] as const) {
      const toggle = mode === 'on' ? 'ENABLE' : 'DISABLE';
      await pool.query(`ALTER TABLE threat_events ${toggle} TRIGGER threat_events_stats_insert`);
      writes[mode]!.push(await time(() => pool.query(batch)));
      if (mode === 'on') writes.compaction!.push(await time(() => threats.compactPending()));
    }
  }
  await pool.query('ALTER TABLE threat_events ENABLE TRIGGER threat_events_stats_insert');
  const label: Record<string, string> = {
    on: 'INSERT, journal trigger on',
    off: 'INSERT, journal trigger off',
    compaction: 'compaction of its 1,000 journal rows (worker)',
  };
  console.log('\n| 1,000 threat events | p50 | p95 |\n|---|---|---|');
  for (const [mode, xs] of Object.entries(writes))
    console.log(`| ${label[mode]} | ${pct(xs, 0.5).toFixed(1)} ms | ${pct(xs, 0.95).toFixed(1)} ms |`);
} finally {
  await pool.end();
  if (keepDb === undefined) await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
