import type { Counters } from './client.js';
import {
  f0,
  f1,
  formatCodes,
  outageFailures,
  phaseFigures,
  quantile,
  revocationLines,
  sampleTable,
  sideBySide,
} from './report.js';
import type { Revocation } from './revocations.js';
import type { Sample } from './sampler.js';
import type { Deliveries } from './subscribers.js';

/** Times on the soak clock (ms) of the Redis stop and start; `at` is the planned second. */
export interface RedisRestart {
  at: number;
  downSeconds: number;
  stoppedAt?: number;
  downAt?: number;
  upAt?: number;
}

export interface ReportInput {
  samples: Sample[];
  counters: Counters;
  deliveries: Deliveries;
  load: {
    late: { batch: number; single: number };
    notAccepted: { duplicates: number; itemErrors: number };
    redisHealth: { at: number; value: string }[];
    sent: () => number;
  };
  subscribers: {
    closes: Map<number, number>;
    sinkErrors: Map<string, number>;
    reconnects: number;
    rampSeconds: number;
  };
  revocations: Revocation[];
  skippedRevocations: number;
  restart: RedisRestart;
  loadMinutes: number;
  /** Soak-clock ms at which the load started. */
  loadStartMs: number;
  baselineMinutes: number;
  serverOutput: string;
  crashed: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Deliveries per event against its filters' matches, by when the event was sent. */
function deliveryFigures(d: Deliveries, sent: number, r: RedisRestart) {
  const buckets = [
    'before the Redis stop',
    'while Redis was down',
    'first 60 s after Redis was back',
    'later',
  ];
  const short = buckets.map(() => ({ events: 0, missing: 0 }));
  let expected = 0;
  let received = 0;
  let over = 0;
  let unackedDelivered = 0;
  let acked = 0;
  const n = Math.min(sent, d.received.length);
  for (let s = 0; s < n; s++) {
    const got = d.received[s]!;
    if (!d.acked[s]) {
      if (got > 0) unackedDelivered += 1;
      continue;
    }
    acked += 1;
    const want = d.expected(s);
    expected += want;
    received += Math.min(got, want);
    if (got > want) over += 1;
    if (got >= want) continue;
    const at = d.sentAt[s]!;
    const b =
      r.stoppedAt === undefined || at < r.stoppedAt
        ? 0
        : r.upAt === undefined || at < r.upAt
          ? 1
          : at < r.upAt + 60_000
            ? 2
            : 3;
    short[b]!.events += 1;
    short[b]!.missing += want - got;
  }
  return { buckets, short, expected, received, over, unackedDelivered, acked };
}

/** Server log lines at error level or above (pino JSON), counted by message. */
function serverErrors(output: string) {
  const byMsg = new Map<string, number>();
  let warn = 0;
  for (const line of output.split('\n')) {
    const m = /"level":(\d+)/.exec(line);
    if (!m) continue;
    const level = Number(m[1]);
    if (level === 40) warn += 1;
    if (level < 50) continue;
    const msg = /"msg":"([^"]{0,160})/.exec(line)?.[1] ?? line.slice(0, 160);
    byMsg.set(msg, (byMsg.get(msg) ?? 0) + 1);
  }
  return { byMsg, warn };
}

export function printReport(x: ReportInput): void {
  const say = (line = '') => console.log(line);
  const idle = x.samples.filter((s) => s.phase === 'idle');
  const load = x.samples.filter((s) => s.phase !== 'idle');
  say('\n## Samples (5 s windows; t = seconds since the load started)\n');
  sampleTable(x.samples).forEach((l) => say(l));
  say('\n## Summary\n');
  sideBySide(
    phaseFigures(idle, 0.2),
    phaseFigures(load, 0.2),
    x.baselineMinutes,
    Number(x.loadMinutes.toFixed(1)),
  ).forEach((l) => say(l));

  const c = x.counters;
  const totalErrors = [...c.totalErrors.values()].reduce((s, v) => s + v, 0);
  say(
    `\nRequests: ${f0(c.okTotal)} succeeded, ${f0(totalErrors)} failed; by code: ${formatCodes(c.totalErrors)}`,
  );
  say(`HTTP 5xx: ${c.http5xx}; INTERNAL_SERVER_ERROR: ${c.totalErrors.get('INTERNAL_SERVER_ERROR') ?? 0}`);
  say(
    `Ingest: ${f0(x.load.sent())} events sent; late schedule ticks: batches ${x.load.late.batch}, singles ${x.load.late.single}; duplicates ${x.load.notAccepted.duplicates}, refused items ${x.load.notAccepted.itemErrors}`,
  );
  say('\n| operation | ok | p50 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: |');
  for (const [op, l] of [...c.latencies.entries()].sort())
    say(
      `| ${op} | ${f0(l.length)} | ${f1(quantile(l, 0.5))} | ${f1(quantile(l, 0.99))} | ${f1(Math.max(...l))} |`,
    );

  const d = deliveryFigures(x.deliveries, x.load.sent(), x.restart);
  const s = x.subscribers;
  say(
    `\nSubscribers: ${x.deliveries.filters.length} connected in ${s.rampSeconds.toFixed(1)} s; closes seen by code: ${formatCodes(s.closes)}; reconnects ${s.reconnects}; subscription errors: ${formatCodes(s.sinkErrors)}`,
  );
  say(
    `Deliveries of acknowledged events: ${f0(d.received)} of ${f0(d.expected)} expected (${((100 * d.received) / d.expected).toFixed(3)} %) for ${f0(d.acked)} events; events delivered more often than their filters match: ${d.over}; deliveries outside the subscriber's filter: ${x.deliveries.wrongFilter}; untracked: ${x.deliveries.untracked}; events delivered although their ingest request failed: ${d.unackedDelivered}`,
  );
  d.buckets.forEach((b, i) =>
    say(
      `  events short of deliveries, sent ${b}: ${d.short[i]!.events} (${d.short[i]!.missing} deliveries missing)`,
    ),
  );

  say(
    `\nRevocations (every socket ran a heartbeat subscription; ${x.skippedRevocations} skipped while one was running):\n`,
  );
  revocationLines(x.revocations).forEach((l) => say(l));
  const closeMs = x.revocations.flatMap((r) => r.closeMs);
  say(
    `close after revokeApiKey over all cycles: p50 ${f0(quantile(closeMs, 0.5))} ms, max ${f0(Math.max(...closeMs))} ms`,
  );

  const r = x.restart;
  say('\nRedis restart:');
  if (r.stoppedAt === undefined || r.upAt === undefined) say('  not done (the run ended first)');
  else {
    const stoppedAt = r.stoppedAt;
    const o = outageFailures(c.failures, r.stoppedAt, r.upAt, r.upAt + 60_000);
    say(
      `  stopped at ${((r.stoppedAt - x.loadStartMs) / 1000).toFixed(1)} s into the load, exited after ${f0(r.downAt! - r.stoppedAt)} ms, kept down ${r.downSeconds} s, answering again ${f0(r.upAt - r.stoppedAt)} ms after the stop`,
    );
    say(`  failed requests sent from the stop to 60 s after the restart: ${o.count} (${o.byCode})`);
    say(
      `  first failure ${f0(o.firstAfterStopMs)} ms after the stop; last failure sent ${f0(o.lastAfterUpMs)} ms after Redis was back (requests recovered)`,
    );
    const first = x.deliveries.firstAfter;
    say(
      `  first delivery of an event sent after the restart: ${first === undefined ? 'never' : `${f0(first - r.upAt)} ms after Redis was back`}`,
    );
    say(
      `  health.redis as the query loops saw it: ${x.load.redisHealth.map((h) => `${h.value} at ${((h.at - stoppedAt) / 1000).toFixed(1)} s`).join(', ') || '–'} (relative to the stop)`,
    );
  }

  const e = serverErrors(x.serverOutput);
  say(
    `\nServer: ${x.crashed ? `CRASHED (${x.crashed.code ?? x.crashed.signal})` : 'ran to the end'}; log lines: ${e.warn} warn, ${[...e.byMsg.values()].reduce((a, b) => a + b, 0)} error or fatal`,
  );
  for (const [msg, n] of [...e.byMsg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8))
    say(`  ${n} × ${msg}`);
}
