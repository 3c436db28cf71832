/**
 * Soak of one compiled server under mixed load (ingest, queries, 500 subscribers, key revocations, a Redis restart): RSS and event-loop delay every 5 s against an idle baseline.
 *
 * `npm run build` first: the script runs `dist/main.js` as `npm start` does, on a fresh
 * PostgreSQL database and a throwaway redis-server of its own, idle for a baseline, then
 * under load for `--minutes`:
 *
 *   [DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test] npx tsx bench/soak/soak.ts [--minutes 10]
 *
 * Load: `ingestThreatEvents` batches and single `ingestThreatEvent` calls on a schedule,
 * query loops (threatEvents, statsSummary, countryStats, threatMap, health), graphql-ws
 * subscribers to `threatDetected` (every delivery checked against its filter and counted
 * per event), a key revocation with open sockets every `--revoke-every-s`, and one stop
 * and restart of redis-server half-way. Exits non-zero only when the server or this
 * script crashes; everything else is reported.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Counters, gql } from './client.js';
import { benchInfra, startServer, type SoakServer } from './infra.js';
import { startLoad } from './load.js';
import { revocationCycle, type Revocation } from './revocations.js';
import { metric, sampler, type Phase, type Sample } from './sampler.js';
import { Deliveries, eventPool, startSubscribers, subscriberFilters } from './subscribers.js';
import { printReport, type RedisRestart } from './summary.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'baseline-minutes': { type: 'string', default: '1' },
    subscribers: { type: 'string', default: '500' },
    unfiltered: { type: 'string', default: '5' },
    'batch-size': { type: 'string', default: '100' },
    'batch-every-ms': { type: 'string', default: '200' },
    'single-every-ms': { type: 'string', default: '100' },
    'query-loops': { type: 'string', default: '4' },
    'query-every-ms': { type: 'string', default: '100' },
    'revoke-every-s': { type: 'string', default: '30' },
    'revoke-sockets': { type: 'string', default: '5' },
    'redis-down-s': { type: 'string', default: '5' },
  },
});
const num = (k: keyof typeof args) => {
  const v = Number(args[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a non-negative number`);
  return v;
};
const MINUTES = num('minutes');
const BASELINE_MINUTES = num('baseline-minutes');
const SUBSCRIBERS = num('subscribers');
const SAMPLE_MS = 5000;
/** Operations per subscriber key stay under the server's default per-key cap (200). */
const SUBSCRIBERS_PER_KEY = 100;
const REVOKE_WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { db, redis, cleanups, cleanup } = await benchInfra();

let server: SoakServer | undefined;
let exitCode = 0;
try {
  const adminKey = `tw_soak_${randomBytes(24).toString('base64url')}`;
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    ADMIN_API_KEY: adminKey,
    NODE_ENV: 'production',
    RATE_LIMIT_POINTS: '1000000', // the load is one client per role: measure the server, not its limiter
    LOG_LEVEL: 'warn',
  };
  server = await startServer(env);
  const srv = server;
  cleanups.push(async () => {
    const how = await srv.stop();
    console.log(`\nserver stopped (SIGTERM): exit ${how.code ?? how.signal}`);
  });
  const url = server.app.url;
  const counters = new Counters();
  const createKey = async (name: string, role: string) => {
    const r = await gql(
      counters,
      url,
      adminKey,
      'setup',
      'mutation Key($name: String!, $role: Role!) { createApiKey(name: $name, role: $role) { secret } }',
      { name, role },
      false,
    );
    const secret = (r.data?.createApiKey as { secret?: string } | undefined)?.secret;
    if (!secret) throw new Error(`createApiKey(${role}) failed: ${r.codes.join(', ')}`);
    return secret;
  };
  const ingestKey = await createKey('soak-ingestor', 'INGESTOR');
  const readerKey = await createKey('soak-reader', 'READER');
  const subscriberKeys: string[] = [];
  for (let i = 0; i < Math.ceil(SUBSCRIBERS / SUBSCRIBERS_PER_KEY); i++)
    subscriberKeys.push(await createKey(`soak-subscribers-${i}`, 'READER'));

  const pool = await eventPool(counters, url, readerKey, 5000);
  const filters = subscriberFilters(pool, SUBSCRIBERS, num('unfiltered'));
  const perSecond = (num('batch-size') * 1000) / num('batch-every-ms') + 1000 / num('single-every-ms');
  const capacity = Math.ceil(perSecond * MINUTES * 60 * 1.5) + 10_000;
  const deliveries = new Deliveries(pool, filters, capacity, counters);
  const sample = sampler(server, counters);
  const samples: Sample[] = [];
  const crashed = () => server?.crashed !== undefined;

  // --- idle baseline: the same sampling with no client connected ----------------------
  await sample(0, 'idle'); // starts the first window (prom-client resets on each read)
  const idleWindows = Math.round((BASELINE_MINUTES * 60_000) / SAMPLE_MS);
  let next = performance.now();
  for (let k = 1; k <= idleWindows && !crashed(); k++) {
    next += SAMPLE_MS;
    await sleep(next - performance.now());
    samples.push(await sample(((k - idleWindows) * SAMPLE_MS) / 1000, 'idle'));
  }

  // --- subscribers connect (not sampled), then the load clock starts ------------------
  const rampStarted = performance.now();
  const subs = startSubscribers({ wsUrl: server.app.wsUrl, keys: subscriberKeys, deliveries, counters });
  cleanups.push(() => subs.dispose());
  const metricsUrl = new URL('/metrics', url).toString();
  for (;;) {
    const running = metric(await (await fetch(metricsUrl)).text(), 'threatwire_ws_subscriptions');
    if (running >= SUBSCRIBERS || crashed()) break;
    if (performance.now() - rampStarted > 120_000)
      throw new Error(`only ${running} subscriptions after 2 min`);
    await sleep(200);
  }
  const rampSeconds = (performance.now() - rampStarted) / 1000;
  await sample(0, 'warm-up'); // discards the ramp's window

  const loadStart = counters.now();
  const tag = `soak-${randomBytes(3).toString('hex')}`;
  const load = startLoad(
    {
      url,
      ingestKey,
      readerKey,
      tag,
      batchSize: num('batch-size'),
      batchEveryMs: num('batch-every-ms'),
      singleEveryMs: num('single-every-ms'),
      queryLoops: num('query-loops'),
      queryEveryMs: num('query-every-ms'),
    },
    counters,
    deliveries,
  );
  const revocations: Revocation[] = [];
  let revoking: Promise<void> | undefined;
  let skippedRevocations = 0;
  const restart: RedisRestart = { at: (MINUTES * 60) / 2, downSeconds: num('redis-down-s') };
  let restarting: Promise<void> | undefined;
  const doRestart = async () => {
    restart.stoppedAt = counters.now();
    await redis.stop();
    restart.downAt = counters.now();
    await sleep(restart.downSeconds * 1000);
    await redis.start();
    restart.upAt = counters.now();
    deliveries.watchFrom = restart.upAt;
  };
  const revokeEvery = num('revoke-every-s');
  let nextRevoke = revokeEvery / 2;
  const phaseAt = (t: number): Phase => {
    if (
      restart.stoppedAt !== undefined &&
      (restart.upAt === undefined || counters.now() - restart.upAt < SAMPLE_MS)
    )
      return 'redis-down';
    return t <= MINUTES * 60 * 0.2 ? 'warm-up' : 'load';
  };
  next = performance.now();
  for (let t = 0; t < MINUTES * 60 && !crashed();) {
    if (!restarting && t >= restart.at) restarting = doRestart();
    if (revokeEvery > 0 && t >= nextRevoke) {
      nextRevoke += revokeEvery;
      if (revoking) skippedRevocations += 1;
      else
        revoking = revocationCycle({
          url,
          wsUrl: srv.app.wsUrl,
          adminKey,
          counters,
          sockets: num('revoke-sockets'),
          at: t,
          waitMs: REVOKE_WAIT_MS,
        }).then((r) => {
          revocations.push(r);
          revoking = undefined;
        });
    }
    next += SAMPLE_MS;
    await sleep(next - performance.now());
    t += SAMPLE_MS / 1000;
    samples.push(await sample(t, phaseAt(t)));
  }
  const loadSeconds = (counters.now() - loadStart) / 1000;
  await load.stop();
  await restarting;
  await revoking;
  // Deliveries still in flight: wait until the count stops moving (at most 30 s).
  let last = -1;
  const drainBy = performance.now() + 30_000;
  while (!crashed() && performance.now() < drainBy) {
    const now = deliveries.received.reduce((s, x) => s + x, 0);
    if (now === last) break;
    last = now;
    await sleep(1000);
  }
  printReport({
    samples,
    counters,
    deliveries,
    load,
    subscribers: {
      closes: subs.closes,
      sinkErrors: subs.sinkErrors,
      reconnects: subs.reconnects(),
      rampSeconds,
    },
    revocations,
    skippedRevocations,
    restart,
    loadMinutes: loadSeconds / 60,
    loadStartMs: loadStart,
    baselineMinutes: BASELINE_MINUTES,
    serverOutput: server.app.output(),
    crashed: server.crashed,
  });
  if (server.crashed) exitCode = 1;
} catch (err) {
  console.error('soak failed:', err);
  if (server?.crashed)
    console.error(`server exited: ${JSON.stringify(server.crashed)}\n${server.app.output().slice(-4000)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
