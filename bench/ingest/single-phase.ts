import type { ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { singleEventLatency } from './latency.js';

/**
 * Phase 4 of bench/ingest/ingest.ts: single `ingestThreatEvent` requests at a fixed rate from 50
 * keep-alive connections on an emptied, vacuumed, checkpointed table, then the same rate of
 * `{ __typename }` as the baseline of the HTTP stack.
 */
export async function singlePhase(opts: {
  url: string;
  child: ChildProcess;
  key: string;
  inputs: readonly unknown[];
  pool: pg.Pool;
  cpu: () => { total: number; system: number };
  say: (line: string) => void;
  profiling: boolean;
}): Promise<void> {
  const { url, child, key, inputs, pool, cpu, say, profiling } = opts;
  if (profiling) child.kill('SIGHUP');
  // Start from an empty, vacuumed table and a fresh checkpoint: otherwise autovacuum
  // (woken by the warm-up's rows) and the checkpoint writing them out run during this
  // phase, and their CPU and I/O land in its latencies.
  await pool.query('TRUNCATE threat_events CASCADE');
  await pool.query('VACUUM ANALYZE threat_events');
  await pool.query('CHECKPOINT');
  // Warm-up at the same rate, not measured: the single-event path gets compiled by the
  // JIT and the pool's connections prepare their statements.
  await singleEventLatency(url, key, inputs, {
    rps: Number(process.env.SINGLE_RPS ?? 500),
    seconds: 3,
    connections: 50,
    tag: 'warmup',
  });
  // prom-client samples the loop every 20 ms and records whole intervals: subtract it.
  const eventLoopMax = async () => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    const max = Number(/^threatwire_nodejs_eventloop_lag_max_seconds (\S+)/m.exec(text)?.[1] ?? NaN);
    return Math.max(0, max * 1000 - 20);
  };
  await eventLoopMax(); // prom-client resets the event-loop histogram when it is read
  const singleCpu0 = cpu();
  const latency = await singleEventLatency(url, key, inputs, {
    rps: Number(process.env.SINGLE_RPS ?? 500),
    seconds: Number(process.env.SINGLE_SECONDS ?? 10),
    connections: 50,
  });
  say(
    `\nSingle ingestThreatEvent at ${latency.rps} requests/s for ${latency.seconds} s from 50 connections (${latency.count} requests, ${latency.errors} errors):`,
  );
  say(
    `p50 ${latency.p50.toFixed(1)} ms, p90 ${latency.p90.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms (from the scheduled send time); server CPU ${(((cpu().total - singleCpu0.total) * 1e6) / latency.count).toFixed(0)} µs/request, of which in the kernel ${(((cpu().system - singleCpu0.system) * 1e6) / latency.count).toFixed(0)} µs; longest server event-loop delay ${(await eventLoopMax()).toFixed(1)} ms; load generator late by p99 ${latency.sendLagP99.toFixed(1)} ms, max ${latency.sendLagMax.toFixed(1)} ms`,
  );
  if (profiling) {
    child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 2000));
  }

  // Baseline: the cheapest authenticated operation at the same rate and connections, the
  // floor of the HTTP stack (Fastify, Apollo, auth, rate limit) on this machine.
  const baseline = { rps: latency.rps, seconds: latency.seconds, connections: 50, query: '{ __typename }' };
  await singleEventLatency(url, key, inputs, { ...baseline, seconds: 3 });
  const baseCpu0 = cpu();
  const base = await singleEventLatency(url, key, inputs, baseline);
  say(
    `Baseline { __typename } at the same rate: p50 ${base.p50.toFixed(1)} ms, p99 ${base.p99.toFixed(1)} ms, max ${base.max.toFixed(1)} ms; server CPU ${(((cpu().total - baseCpu0.total) * 1e6) / base.count).toFixed(0)} µs/request (${base.errors} errors)`,
  );
}
