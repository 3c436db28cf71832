import type { Counters } from './client.js';
import type { SoakServer } from './infra.js';

export type Phase = 'idle' | 'warm-up' | 'load' | 'redis-down' | 'drain';

/** One 5-second window of the server and of what the clients saw. */
export interface Sample {
  /** Seconds since the load started (negative during the idle baseline). */
  t: number;
  phase: Phase;
  rssMb: number;
  heapMb: number;
  cpuPct: number;
  /** Event-loop delay of the window, ms, with the 20 ms sampling interval taken off. */
  eldP50: number;
  eldP99: number;
  eldMax: number;
  okPerSec: number;
  errors: Map<string, number>;
  deliveriesPerSec: number;
  /** ms from an event's ingest request to its delivery, median and largest of the window. */
  lagP50: number;
  lagMax: number;
  /** CPU of this script (the load generator and every subscriber), % of one core. */
  clientCpuPct: number;
  wsConnections: number;
  wsSubscriptions: number;
  dropped: number;
  fds: number;
}

/** Sum of every series of `name` in Prometheus text format (NaN when absent). */
export function metric(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    sum = Number.isNaN(sum) ? v : sum + v;
  }
  return sum;
}

/** prom-client samples the loop every 20 ms and records whole intervals. */
const EVENT_LOOP_RESOLUTION_MS = 20;
const delayMs = (seconds: number) => Math.max(0, seconds * 1000 - EVENT_LOOP_RESOLUTION_MS);

/**
 * Takes one sample per call. prom-client resets its event-loop histogram each time
 * /metrics is read, so the delays are those of the window since the previous sample —
 * nothing else may scrape this server during the soak.
 */
export function sampler(server: SoakServer, counters: Counters) {
  const metricsUrl = new URL('/metrics', server.app.url).toString();
  const clientCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let prev = { at: performance.now(), cpu: server.cpuSeconds(), client: clientCpu() };
  return async (t: number, phase: Phase): Promise<Sample> => {
    let text = '';
    try {
      const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(20_000) });
      text = await res.text();
    } catch {
      text = ''; // every figure of the window is NaN: the table shows the scrape failed
    }
    const at = performance.now();
    const cpu = server.crashed ? prev.cpu : server.cpuSeconds();
    const seconds = (at - prev.at) / 1000;
    const window = counters.take();
    const client = clientCpu();
    const lags = window.lags.sort((a, b) => a - b);
    const sample: Sample = {
      t,
      phase,
      rssMb: server.crashed ? NaN : server.rssMb(),
      heapMb: metric(text, 'threatwire_nodejs_heap_size_used_bytes') / 2 ** 20,
      cpuPct: (100 * (cpu - prev.cpu)) / seconds,
      eldP50: delayMs(metric(text, 'threatwire_nodejs_eventloop_lag_p50_seconds')),
      eldP99: delayMs(metric(text, 'threatwire_nodejs_eventloop_lag_p99_seconds')),
      eldMax: delayMs(metric(text, 'threatwire_nodejs_eventloop_lag_max_seconds')),
      okPerSec: window.ok / seconds,
      errors: window.errors,
      deliveriesPerSec: window.deliveries / seconds,
      lagP50: lags.length ? lags[Math.floor(lags.length / 2)]! : NaN,
      lagMax: lags.length ? lags.at(-1)! : NaN,
      clientCpuPct: (100 * (client - prev.client)) / seconds,
      wsConnections: metric(text, 'threatwire_ws_connections'),
      wsSubscriptions: metric(text, 'threatwire_ws_subscriptions'),
      dropped: metric(text, 'threatwire_events_dropped_total'),
      fds: metric(text, 'threatwire_process_open_fds'),
    };
    prev = { at, cpu, client };
    return sample;
  };
}
