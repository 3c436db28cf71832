/**
 * IOC enrichment benchmark:
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test [REDIS_URL=…] npx tsx bench/ioc/ioc.ts
 * Options (env): SECONDS per round (4), ROUNDS (3), CONNECTIONS (50), IOCS (1000),
 * VT_LIMIT for the collector part (250/10: a paid-tier-like budget, short window).
 *
 * 1. Cache-hit `lookupIoc` against `{ health { status } }` on the same server, closed
 *    loop from CONNECTIONS keep-alive connections, rounds interleaved.
 * 2. IOCS watched IOCs through the collector, fake sources answering in 50 ms: time
 *    until every source has answered for every IOC, calls counted per source, and the
 *    most VirusTotal calls seen in one budget window.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { startFakes } from '../../test/iocs/ioc-harness.js';
import { exitWithHelpIfAsked } from '../help.js';

exitWithHelpIfAsked(import.meta.url);

const SECONDS = Number(process.env.SECONDS ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const IOCS = Number(process.env.IOCS ?? 1000);
const VT_LIMIT = process.env.VT_LIMIT ?? '250/10';
const server = process.env.DATABASE_URL;
if (!server) throw new Error('set DATABASE_URL to a PostgreSQL server (a fresh database is created on it)');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const admin = new pg.Pool({ connectionString: server, max: 1 });
const dbName = `tw_bench_ioc_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
const dbUrl = new URL(server);
dbUrl.pathname = `/${dbName}`;

const fakes = await startFakes();
for (const f of fakes.all) {
  f.defaultScenario = 'delayed';
  f.delayedMs = 50;
}
const adminKey = `tw_bench_${randomBytes(24).toString('base64url')}`;
const config = loadConfig({
  ...process.env,
  ...fakes.env,
  NODE_ENV: 'production',
  PORT: '0',
  LOG_LEVEL: 'warn',
  DATABASE_URL: dbUrl.toString(),
  ADMIN_API_KEY: adminKey,
  RATE_LIMIT_POINTS: '1000000',
  ABUSEIPDB_RATE_LIMITS: String(IOCS + 10) + '/86400',
  VIRUSTOTAL_RATE_LIMITS: VT_LIMIT,
  IOC_COLLECTOR_ENABLED: 'true',
  IOC_COLLECTOR_INTERVAL_MS: '200',
  IOC_COLLECTOR_BATCH_SIZE: '50',
  IOC_WATCH_MAX: String(IOCS),
  REDIS_KEY_PREFIX: `tw-bench-${randomBytes(4).toString('hex')}:`,
});
const app = await startApp(config, createLogger(config));
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function post(body: string): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      app.url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${adminKey}`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            ok: res.statusCode === 200 && !text.includes('"errors"'),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on('error', () => resolve({ ok: false, ms: performance.now() - started }));
    req.end(body);
  });
}

async function closedLoop(body: string, seconds: number) {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const r = await post(body);
        latencies.push(r.ms);
        if (!r.ok) errors += 1;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps: latencies.length / seconds, p50: p(0.5), p99: p(0.99), errors };
}

// --- 1. cache-hit lookups beside health -----------------------------------------------
const ip = '45.77.12.34';
const lookupBody = JSON.stringify({
  query:
    'query($v: String!) { lookupIoc(value: $v) { value riskScore riskLevel categories sources { source status score } } }',
  variables: { v: ip },
});
const healthBody = JSON.stringify({ query: '{ health { status } }' });
if (!(await post(lookupBody)).ok) throw new Error('first lookup failed');
await closedLoop(healthBody, 1); // warm-up
await closedLoop(lookupBody, 1);
const rounds: Record<'health' | 'lookup', Awaited<ReturnType<typeof closedLoop>>[]> = {
  health: [],
  lookup: [],
};
for (let r = 0; r < ROUNDS; r++) {
  rounds.health.push(await closedLoop(healthBody, SECONDS));
  rounds.lookup.push(await closedLoop(lookupBody, SECONDS));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const summary = (k: 'health' | 'lookup') => ({
  rps: median(rounds[k].map((x) => x.rps)),
  p99: median(rounds[k].map((x) => x.p99)),
  p50: median(rounds[k].map((x) => x.p50)),
  errors: rounds[k].reduce((n, x) => n + x.errors, 0),
});
const h = summary('health');
const l = summary('lookup');
const upstreamForIp = fakes.all.map((f) => f.callsFor(ip).length);
console.log(
  `\n### Cache-hit lookupIoc vs health (${CONNECTIONS} connections, ${ROUNDS} × ${SECONDS} s, medians)\n`,
);
console.log('| query | req/s | p50 ms | p99 ms | errors |');
console.log('| --- | ---: | ---: | ---: | ---: |');
console.log(
  `| \`{ health { status } }\` | ${fmt(h.rps)} | ${h.p50.toFixed(1)} | ${h.p99.toFixed(1)} | ${h.errors} |`,
);
console.log(
  `| cache-hit \`lookupIoc\` | ${fmt(l.rps)} | ${l.p50.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.errors} |`,
);
console.log(
  `\nratio lookup/health: ${(l.rps / h.rps).toFixed(2)}; upstream calls for the looked-up IP: ${upstreamForIp.join('/')}`,
);

// --- 2. the collector on IOCS watched IOCs ---------------------------------------------
for (const f of fakes.all) f.calls.length = 0;
const values = Array.from(
  { length: IOCS },
  (_, i) => `45.${100 + Math.floor(i / 254 / 256)}.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`,
);
const uniqueValues = [...new Set(values)];
const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: 1 });
const started = performance.now();
const watched = await post(
  JSON.stringify({
    query: 'mutation($vs: [String!]!) { watchIocs(values: $vs) { id } }',
    variables: { vs: uniqueValues },
  }),
);
if (!watched.ok) throw new Error('watchIocs failed');
let done = 0;
while (done < uniqueValues.length) {
  await new Promise((r) => setTimeout(r, 250));
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM iocs WHERE watched AND sources->'VIRUSTOTAL'->>'status' = 'OK'
       AND sources->'OTX'->>'status' = 'OK' AND sources->'ABUSEIPDB'->>'status' = 'OK'`,
  );
  done = rows[0]?.n ?? 0;
  if (performance.now() - started > 15 * 60_000) throw new Error(`stuck at ${done}`);
}
const elapsed = (performance.now() - started) / 1000;
const [windowPoints, windowSeconds] = VT_LIMIT.split('/').map(Number) as [number, number];
const vtTimes = fakes.vt.calls.map((c) => c.at).sort((a, b) => a - b);
const perWindow = new Map<number, number>();
for (const at of vtTimes) {
  const w = Math.floor((at - vtTimes[0]!) / (windowSeconds * 1000));
  perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
}
const duplicates = fakes.all.map((f) => f.calls.length - new Set(f.calls.map((c) => c.value)).size);
console.log(
  `\n### Collector: ${uniqueValues.length} watched IPv4 IOCs, fake sources at 50 ms, VirusTotal ${VT_LIMIT}\n`,
);
console.log('| measure | value |');
console.log('| --- | ---: |');
console.log(`| time until all three sources answered for every IOC | ${elapsed.toFixed(1)} s |`);
console.log(`| calls AbuseIPDB / OTX / VirusTotal | ${fakes.all.map((f) => f.calls.length).join(' / ')} |`);
console.log(`| repeated calls for one IOC (per source) | ${duplicates.join(' / ')} |`);
console.log(
  `| most VirusTotal calls in one ${windowSeconds} s window (budget ${windowPoints}) | ${Math.max(...perWindow.values())} |`,
);
console.log(`| VirusTotal windows used | ${perWindow.size} |`);

await pool.end();
agent.destroy();
await app.stop();
await fakes.close();
await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
await admin.end();
