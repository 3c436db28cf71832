/**
 * Subscription fan-out: the highest event rate at which 1,000 `threatDetected`
 * subscribers each receive every event with p99 delay under 100 ms, beside a bare `ws`
 * server broadcasting the same frame to 1,000 sockets (the hardware's rate).
 *
 * `npm run build && npm run bench -- fanout [--rounds 3] [--subscribers 1000]
 * [--step-seconds 4] [--rates 10,20,…] [--phases one,ten] [--profile-rate 0]`
 * (`DATABASE_URL` names the PostgreSQL server; a database of the bench's own is created and
 * dropped; a throwaway redis-server is started: the compiled server runs in Redis mode).
 *
 * The subscribers live in two client processes (bench/fanout/clients.ts), half each, so
 * the load generator is not the limit. Each step sends events at a fixed rate for
 * `--step-seconds`, one `ingestThreatEvents` call of one event each to threatwire (or one
 * POST to the raw server, bench/fanout/raw-server.ts), the scheduled send time in the
 * event's externalId; the delay is from that time to the frame's arrival (no coordinated
 * omission). A step passes when every socket received every event of the step and the
 * p99 delay is under 100 ms. Rates climb the ladder until a step fails; the last passing
 * rate is the round's figure. Rounds alternate which target goes first; the medians of
 * the rounds are printed with their ratio. Phase `one`: every subscriber sends the same
 * operation; phase `ten`: ten distinct selection sets, 100 subscribers each. Server CPU
 * per delivered frame is read from /proc. `--profile-rate R` ends with one step at R
 * events/s on threatwire with the server's CPU profiler on (the server must be started
 * with `BENCH_SERVER_NODE_OPTIONS="--import $PWD/bench/tools/cpu-profile-hook.mjs"`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exitWithHelpIfAsked } from '../help.js';
import { benchInfra, startServer, type SoakServer } from '../soak/infra.js';
import type { ClientCommand, ClientReport } from './clients.js';

exitWithHelpIfAsked(import.meta.url);

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const ROUNDS = Number(arg('rounds', '3'));
const SUBSCRIBERS = Number(arg('subscribers', '1000'));
const STEP_S = Number(arg('step-seconds', '4'));
const RATES = arg('rates', '10,20,30,40,50,60,80,100,120,150,200,250,300,400,500').split(',').map(Number);
const PHASES = arg('phases', 'one,ten').split(',');
const PROFILE_RATE = Number(arg('profile-rate', '0'));
const P99_BUDGET_MS = 100;
const DRAIN_MS = 3_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

/** The event's fields every selection asks for; the ten selection sets add one field each. */
const BASE =
  'id externalId severity sourceIp threatType occurredAt geo { countryCode } classification { category }';
const EXTRA = [
  '',
  'sourcePort',
  'destinationPort',
  'protocol',
  'confidence',
  'sensor',
  'tags',
  'knownIoc',
  'banned',
  'ingestedAt',
];
const subscription = (extra: string) => `subscription { threatDetected { ${BASE} ${extra} } }`;
const INGEST = `mutation($inputs: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $inputs) { accepted } }`;

// --- child processes --------------------------------------------------------------------

class Child {
  private readonly waiting: ((m: { type: string }) => void)[] = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: { type: string }) => this.waiting.shift()?.(m));
  }
  /** Forks a helper of this folder; its first message says it is ready. */
  static start<T extends { type: string }>(file: string): { child: Child; ready: Promise<T> } {
    const child = new Child(fork(fileURLToPath(new URL(file, import.meta.url)), [], { stdio: 'inherit' }));
    return { child, ready: child.next<T>() };
  }
  next<T extends { type: string }>(): Promise<T> {
    return new Promise((resolve) => this.waiting.push(resolve as (m: { type: string }) => void));
  }
  async ask<T extends { type: string }>(cmd: ClientCommand | { type: 'exit' }): Promise<T> {
    const reply = this.next<T>();
    this.proc.send(cmd);
    return reply;
  }
}

// --- set-up -----------------------------------------------------------------------------

const { db, redis, cleanups, cleanup } = await benchInfra();

const adminKey = `tw_bench_${randomBytes(24).toString('base64url')}`;
const server: SoakServer = await startServer({
  DATABASE_URL: db.url,
  REDIS_URL: redis.url,
  ADMIN_API_KEY: adminKey,
  NODE_ENV: 'production',
  RATE_LIMIT_POINTS: '1000000', // one ingesting key: measure the fan-out, not the limiter
  LOG_LEVEL: 'warn',
  ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
  ...(process.env.CPU_PROFILE_DIR ? { CPU_PROFILE_DIR: process.env.CPU_PROFILE_DIR } : {}),
});
cleanups.push(() => server.stop());
const rawStart = Child.start<{ type: string; port: number }>('./raw-server.ts');
const raw = rawStart.child;
cleanups.push(() => Promise.resolve(raw.proc.send({ type: 'exit' })));
const rawPort = (await rawStart.ready).port;
const starts = [Child.start('./clients.ts'), Child.start('./clients.ts')];
const clients = starts.map((s) => s.child);
cleanups.push(() => Promise.resolve(clients.forEach((c) => c.proc.send({ type: 'exit' }))));
await Promise.all(starts.map((s) => s.ready));

const post = async (url: string, body: unknown, key?: string) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
  return res.text();
};
const gql = async (query: string, variables: Record<string, unknown>) => {
  const body = JSON.parse(await post(server.app.url, { query, variables }, adminKey)) as {
    data?: Record<string, unknown>;
    errors?: unknown[];
  };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
};
// READER keys, at most 200 subscriptions each (WS_MAX_SUBSCRIPTIONS_PER_KEY's default).
const readers: string[] = [];
for (let i = 0; i < Math.ceil(SUBSCRIBERS / 200); i++) {
  const d = await gql('mutation($n: String!) { createApiKey(name: $n, role: READER) { secret } }', {
    n: `fanout-${i}`,
  });
  readers.push((d.createApiKey as { secret: string }).secret);
}

let seq = 0;
const event = (tag: string, scheduled: number) => ({
  externalId: `${tag}-${++seq}-${scheduled.toFixed(1)}`,
  sourceIp: '8.8.8.8',
  destinationIp: '10.0.0.5',
  sourcePort: 40000 + (seq % 20000),
  destinationPort: 22,
  protocol: 'tcp',
  threatType: 'ssh_bruteforce',
  severity: 7,
  description: 'Repeated failed SSH logins',
  sensor: 'bench',
});
/** What the raw server sends: the same fields, as threatwire's first selection returns them. */
const rawPayload = (e: ReturnType<typeof event>) => ({
  id: '019a0000-0000-7000-8000-000000000000',
  externalId: e.externalId,
  severity: e.severity,
  sourceIp: e.sourceIp,
  threatType: e.threatType,
  occurredAt: new Date().toISOString(),
  geo: { countryCode: 'US' },
  classification: { category: 'BRUTEFORCE' },
});

type Target = 'threatwire' | 'raw';
const send = (target: Target, tag: string, scheduled: number) => {
  const e = event(tag, scheduled);
  return target === 'raw'
    ? post(`http://127.0.0.1:${rawPort}/`, rawPayload(e))
    : post(server.app.url, { query: INGEST, variables: { inputs: [e] } }, adminKey);
};

async function openTargets(extras: readonly string[]) {
  const half = Math.ceil(SUBSCRIBERS / 2);
  await Promise.all(
    clients.map(async (c, ci) => {
      const n = ci === 0 ? half : SUBSCRIBERS - half;
      const subs = Array.from({ length: n }, (_, k) => {
        const i = ci * half + k;
        return { key: readers[Math.floor(i / 200)]!, query: subscription(extras[i % extras.length]!) };
      });
      const r = await c.ask<{ type: string; message?: string }>({
        type: 'open',
        target: 'threatwire',
        url: server.app.wsUrl,
        subs,
      });
      if (r.type !== 'opened') throw new Error(`threatwire sockets: ${r.message}`);
      const r2 = await c.ask<{ type: string; message?: string }>({
        type: 'open',
        target: 'raw',
        url: `ws://127.0.0.1:${rawPort}`,
        subs: { count: n },
      });
      if (r2.type !== 'opened') throw new Error(`raw sockets: ${r2.message}`);
    }),
  );
}

async function reports(): Promise<ClientReport[]> {
  return Promise.all(clients.map((c) => c.ask<ClientReport>({ type: 'report' })));
}

/** Probes until every threatwire subscriber received one: all subscriptions are live. */
async function waitLive(): Promise<void> {
  const tag = `live${Date.now()}`;
  await Promise.all(clients.map((c) => c.ask({ type: 'step', target: 'threatwire', tag })));
  for (let i = 0; i < 120; i++) {
    await send('threatwire', tag, now());
    await sleep(500);
    const r = await reports();
    if (r.every((x) => x.live === x.sockets)) return;
  }
  throw new Error('subscriptions never became live');
}

interface Step {
  rate: number;
  pass: boolean;
  p99: number;
  delivered: number;
  expected: number;
  cpuUsPerFrame: number;
  frameBytes: number;
}

const percentile = (hist: number[], q: number) => {
  const total = hist.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let ms = 0; ms < hist.length; ms++) {
    seen += hist[ms]!;
    if (seen >= q * total) return ms + 1;
  }
  return Infinity;
};

async function step(target: Target, rate: number): Promise<Step> {
  const tag = `${target === 'raw' ? 'r' : 't'}${rate}x${Date.now()}`;
  await Promise.all(clients.map((c) => c.ask({ type: 'step', target, tag })));
  const cpu0 = target === 'threatwire' ? server.cpuSeconds() : cpuOf(raw.proc.pid!);
  const count = Math.round(rate * STEP_S);
  const t0 = now() + 20;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - now();
    if (wait > 1) await sleep(wait);
    sends.push(send(target, tag, at).catch(() => undefined));
  }
  await Promise.all(sends);
  const expected = count * SUBSCRIBERS;
  const deadline = now() + DRAIN_MS;
  let r = await reports();
  while (r.reduce((n, x) => n + x.total, 0) < expected && now() < deadline) {
    await sleep(100);
    r = await reports();
  }
  const cpu = (target === 'threatwire' ? server.cpuSeconds() : cpuOf(raw.proc.pid!)) - cpu0;
  const hist = r[0]!.hist.map((v, i) => v + r[1]!.hist[i]!);
  const delivered = r.reduce((n, x) => n + x.total, 0);
  const p99 = percentile(hist, 0.99);
  const every = r.every((x) => x.min === count && x.max === count);
  const errors = r.flatMap((x) => x.errors);
  if (errors.length) console.log(`  unexpected frames: ${errors.slice(0, 2).join(' | ')}`);
  return {
    rate,
    pass: every && p99 < P99_BUDGET_MS,
    p99,
    delivered,
    expected,
    cpuUsPerFrame: delivered ? (cpu * 1e6) / delivered : NaN,
    frameBytes: delivered ? r.reduce((n, x) => n + x.bytes, 0) / delivered : NaN,
  };
}

function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Climbs the rate ladder until a step fails: the last passing step, and the first step. */
async function ladder(target: Target): Promise<{ best: Step | undefined; first: Step }> {
  let best: Step | undefined;
  let first: Step | undefined;
  for (const rate of RATES) {
    const s = await step(target, rate);
    console.log(
      `  ${target.padEnd(10)} ${String(rate).padStart(4)}/s  ${s.pass ? 'pass' : 'FAIL'}  p99 ${String(s.p99).padStart(5)} ms  ` +
        `delivered ${s.delivered}/${s.expected}  server ${s.cpuUsPerFrame.toFixed(1)} µs CPU/frame  ${s.frameBytes.toFixed(0)} B/frame`,
    );
    first ??= s;
    if (!s.pass) break;
    best = s;
    await sleep(500);
  }
  return { best, first: first! };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

let exitCode = 0;
try {
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`${SUBSCRIBERS} subscribers over 2 client processes; steps of ${STEP_S} s; load ${load()}`);
  const summary: string[] = [];
  for (const phase of PHASES) {
    const extras = phase === 'ten' ? EXTRA : [''];
    await openTargets(extras);
    await waitLive();
    console.log(`\nphase "${phase}": ${extras.length} distinct selection set(s)`);
    // Warm-up, not counted.
    await step('threatwire', RATES[0]!);
    await step('raw', RATES[0]!);
    const best: Record<Target, number[]> = { threatwire: [], raw: [] };
    // At the ladder's first rate, whatever the outcome: CPU per frame holds on a busy machine.
    const cpu: Record<Target, number[]> = { threatwire: [], raw: [] };
    const p99: Record<Target, number[]> = { threatwire: [], raw: [] };
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`round ${round + 1} (load ${load()})`);
      const order: Target[] = round % 2 === 0 ? ['threatwire', 'raw'] : ['raw', 'threatwire'];
      for (const target of order) {
        const { best: b, first } = await ladder(target);
        best[target].push(b?.rate ?? 0);
        cpu[target].push(first.cpuUsPerFrame);
        p99[target].push(first.p99);
      }
    }
    const tw = median(best.threatwire);
    const rw = median(best.raw);
    const line =
      `phase "${phase}": threatwire ${tw} events/s (rounds ${best.threatwire.join(', ')}), ` +
      `raw ws ${rw} events/s (rounds ${best.raw.join(', ')}), ratio ${(tw / rw).toFixed(2)}; ` +
      `at ${RATES[0]} events/s (medians): server CPU per delivered frame threatwire ${median(cpu.threatwire).toFixed(1)} µs, ` +
      `raw ${median(cpu.raw).toFixed(1)} µs (ratio ${(median(cpu.threatwire) / median(cpu.raw)).toFixed(2)}), ` +
      `p99 delay threatwire ${median(p99.threatwire)} ms, raw ${median(p99.raw)} ms`;
    console.log(line);
    summary.push(line);
    const profiling = process.env.BENCH_SERVER_NODE_OPTIONS?.includes('cpu-profile-hook') === true;
    if (phase === PHASES[PHASES.length - 1] && PROFILE_RATE > 0 && profiling) {
      console.log(`\nprofiling threatwire at ${PROFILE_RATE} events/s`);
      server.app.child.kill('SIGHUP');
      await sleep(200);
      await step('threatwire', PROFILE_RATE);
      server.app.child.kill('SIGUSR2');
      await sleep(2000);
    }
    await Promise.all(clients.map((c) => c.ask({ type: 'close', target: 'threatwire' })));
    await Promise.all(clients.map((c) => c.ask({ type: 'close', target: 'raw' })));
    await sleep(1000);
  }
  console.log(`\nsummary (load ${load()}):\n${summary.join('\n')}`);
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
