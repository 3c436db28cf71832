/**
 * Feeds of 1,000,000 IOCs streamed, beside a plain COPY of the same rows:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test npm run bench -- feeds
 * Options (env): IOCS (1000000), MODES (all: copy,fingerprint,blocklist,csv,stix,export).
 *
 * Creates a database of its own, generates IOCS IOCs with SQL (INSERT … SELECT FROM
 * generate_series: nine in ten IPv4, one in ten a domain; scores 0–100; three OK sources
 * each), then runs each measurement in a fresh child process so each has its own peak
 * RSS (process.resourceUsage().maxRSS): a plain `COPY (SELECT …) TO STDOUT` of the
 * columns the CSV feed reads, through pg-copy-streams into a discarding stream; the
 * CSV feed's ETag validator alone (what a 304 costs); and the blocklist, CSV and STIX feeds
 * through FeedService into a discarding stream that honours backpressure (as a socket
 * does); and an export: the whole app started in the child (workers off), exportIocs
 * as CSV asked for over GraphQL and its link downloaded with fetch into a discarding
 * stream (that peak RSS is the server's and the client's together). Prints rows, bytes,
 * wall time and peak RSS per run, and `uptime` before and after. The database is
 * dropped at the end.
 */
import { execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { pino } from 'pino';
import { FeedRepository, iocFeedSql } from '../../src/feeds/feed-repository.js';
import { FeedService } from '../../src/feeds/feed-service.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const IOCS = Number(process.env.IOCS ?? 1_000_000);
const MODES = ['copy', 'fingerprint', 'blocklist', 'csv', 'stix', 'export'] as const;
type Mode = (typeof MODES)[number];

interface Result {
  mode: Mode;
  rows: number;
  bytes: number;
  ms: number;
  maxRssMb: number;
}

/** A sink that counts bytes and lines, and takes its time like a slow-ish socket would not. */
function sink(counter: { bytes: number; lines: number }): Writable {
  return new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, done) {
      counter.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) counter.lines++;
      done();
    },
  });
}

async function child(mode: Mode, url: string): Promise<Result> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const counter = { bytes: 0, lines: 0 };
  const started = performance.now();
  try {
    if (mode === 'copy') {
      const q = iocFeedSql({ minScore: 0, types: [] }, false);
      const text = q.text.replace('$1', '0');
      const client = await pool.connect();
      try {
        await pipeline(
          client.query(copyTo(`COPY (${text}) TO STDOUT WITH (FORMAT csv, HEADER)`)),
          sink(counter),
        );
      } finally {
        client.release();
      }
    } else if (mode === 'export') {
      await exportAll(url, counter);
    } else if (mode === 'fingerprint') {
      const snap = await new FeedRepository(pool).openSnapshot();
      try {
        // What the CSV feed validates with (src/feeds/feed-service.ts).
        await snap.validator(['iocs', 'verdict_expiry']);
      } finally {
        await snap.close();
      }
    } else {
      const feeds = new FeedService(new FeedRepository(pool), pino({ level: 'silent' }));
      const answer =
        mode === 'blocklist'
          ? await feeds.blocklist({ source: 'iocs', minScore: '0' }, { ifNoneMatch: undefined })
          : mode === 'csv'
            ? await feeds.iocsCsv({ minScore: '0' }, { ifNoneMatch: undefined })
            : await feeds.stix({ minScore: '0' }, { ifNoneMatch: undefined });
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const c of answer.body!) yield Buffer.from(c, 'utf8');
          })(),
          { objectMode: false },
        ),
        sink(counter),
      );
    }
  } finally {
    await pool.end();
  }
  return {
    mode,
    rows: counter.lines,
    bytes: counter.bytes,
    ms: performance.now() - started,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/**
 * The whole app in this process (workers off) on the bench database: exportIocs as CSV
 * through GraphQL, then the link downloaded with fetch and discarded as it arrives. The
 * peak RSS is the server's and the client's together.
 */
async function exportAll(url: string, counter: { bytes: number; lines: number }): Promise<void> {
  // Imported here: the other runs' peak RSS must not include the whole app's modules.
  const { startApp } = await import('../../src/app.js');
  const { loadConfig } = await import('../../src/config.js');
  const key = `tw_bench_${randomBytes(24).toString('base64url')}`;
  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    ADMIN_API_KEY: key,
    WORKERS: 'off',
    IOC_COLLECTOR_ENABLED: 'false',
  });
  const app = await startApp(config, pino({ level: 'silent' }));
  try {
    const res = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: 'mutation { exportIocs(format: CSV) { path } }' }),
    });
    const body = (await res.json()) as { data: { exportIocs: { path: string } } };
    const download = await fetch(new URL(body.data.exportIocs.path, app.url));
    await pipeline(Readable.fromWeb(download.body as never), sink(counter));
  } finally {
    await app.stop();
  }
}

function runChild(mode: Mode, url: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', mode, url],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`${mode}: exit ${code}`)),
    );
  });
}

if (process.argv[2] === '--child') {
  const result = await child(process.argv[3] as Mode, process.argv[4]!);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl)
  throw new Error('set DATABASE_URL to a PostgreSQL server (a database is created and dropped)');
const uptime = () => execSync('uptime').toString().trim();
const dbName = `tw_bench_feeds_${randomBytes(4).toString('hex')}`;
const dbUrl = Object.assign(new URL(databaseUrl), { pathname: `/${dbName}` }).toString();
const admin = new pg.Client({ connectionString: databaseUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
pool.on('error', () => undefined);
try {
  console.log(`load before: ${uptime()}`);
  await migrate(pool, { logger: pino({ level: 'silent' }) });
  const t0 = performance.now();
  await pool.query(
    `INSERT INTO iocs (type, value, risk_score, risk_level, categories, sources, first_seen_at, last_enriched_at)
     SELECT CASE WHEN g % 10 = 0 THEN 'DOMAIN' ELSE 'IPV4' END::"IocType",
            CASE WHEN g % 10 = 0 THEN 'host-' || g || '.example.net'
                 ELSE (g >> 24) + 1 || '.' || ((g >> 16) & 255) || '.' || ((g >> 8) & 255) || '.' || (g & 255) END,
            g % 101,
            (CASE WHEN g % 101 >= 75 THEN 'CRITICAL' WHEN g % 101 >= 50 THEN 'HIGH'
                  WHEN g % 101 >= 25 THEN 'MEDIUM' ELSE 'LOW' END)::"RiskLevel",
            ARRAY['SCAN', 'BRUTEFORCE'],
            '{"ABUSEIPDB": {"status": "OK"}, "OTX": {"status": "OK"}, "VIRUSTOTAL": {"status": "OK"}}'::jsonb,
            now() - make_interval(secs => g), now()
       FROM generate_series(1, $1::int) g`,
    [IOCS],
  );
  await pool.query('VACUUM ANALYZE');
  console.log(`generated ${IOCS} IOCs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const plan = iocFeedSql({ minScore: 0, types: [] }, false);
  const { rows: planRows } = await pool.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) ${plan.text}`,
    plan.values,
  );
  console.log(`plan of the CSV feed's query:\n${planRows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  console.log('mode         rows       bytes        time     peak RSS');
  const chosen = process.env.MODES?.split(',') ?? MODES;
  for (const mode of MODES.filter((m) => chosen.includes(m))) {
    const r = await runChild(mode, dbUrl);
    console.log(
      `${mode.padEnd(12)} ${String(r.rows).padStart(9)} ${String(r.bytes).padStart(12)} ${(r.ms / 1000).toFixed(2).padStart(8)} s ${r.maxRssMb.toFixed(0).padStart(6)} MB`,
    );
  }
  console.log(`load after: ${uptime()}`);
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
}
