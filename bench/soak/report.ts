import type { Failure } from './client.js';
import type { Revocation } from './revocations.js';
import type { Sample } from './sampler.js';

export const quantile = (values: readonly number[], q: number): number => {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))]!;
};

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const p = points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
  if (p.length < 2) return NaN;
  const mx = p.reduce((s, q) => s + q.x, 0) / p.length;
  const my = p.reduce((s, q) => s + q.y, 0) / p.length;
  const sxx = p.reduce((s, q) => s + (q.x - mx) ** 2, 0);
  return sxx === 0 ? NaN : p.reduce((s, q) => s + (q.x - mx) * (q.y - my), 0) / sxx;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const codes = (m: ReadonlyMap<string | number, number>) =>
  m.size === 0
    ? 'none'
    : [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ');

export function sampleTable(samples: readonly Sample[]): string[] {
  const rows = [
    '| t s | phase | RSS MB | heap MB | CPU % | loop delay p50 / p99 / max ms | ok req/s | errors | deliveries/s | delivery lag p50 / max ms | dropped | ws conns | subs | fds | soak CPU % |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of samples)
    rows.push(
      `| ${s.t.toFixed(0)} | ${s.phase} | ${f1(s.rssMb)} | ${f1(s.heapMb)} | ${f0(s.cpuPct)} | ${f1(s.eldP50)} / ${f1(s.eldP99)} / ${f1(s.eldMax)} | ${f0(s.okPerSec)} | ${s.errors.size ? codes(s.errors) : ''} | ${f0(s.deliveriesPerSec)} | ${f0(s.lagP50)} / ${f0(s.lagMax)} | ${f0(s.dropped)} | ${f0(s.wsConnections)} | ${f0(s.wsSubscriptions)} | ${f0(s.fds)} | ${f0(s.clientCpuPct)} |`,
    );
  return rows;
}

/** Memory and event-loop figures of a run of samples; `from` = share left out as warm-up. */
export function phaseFigures(samples: readonly Sample[], warmUpShare: number) {
  const kept = samples.slice(Math.floor(samples.length * warmUpShare));
  const minutes = (s: Sample) => s.t / 60;
  return {
    windows: samples.length,
    rssStart: kept[0]?.rssMb ?? NaN,
    rssEnd: kept.at(-1)?.rssMb ?? NaN,
    rssMax: Math.max(...kept.map((s) => s.rssMb)),
    rssSlope: slope(kept.map((s) => ({ x: minutes(s), y: s.rssMb }))),
    heapStart: kept[0]?.heapMb ?? NaN,
    heapEnd: kept.at(-1)?.heapMb ?? NaN,
    heapSlope: slope(kept.map((s) => ({ x: minutes(s), y: s.heapMb }))),
    fdsStart: kept[0]?.fds ?? NaN,
    fdsEnd: kept.at(-1)?.fds ?? NaN,
    /** Median of the windows' p50; the median and the largest of their p99 (the run's p99 is at most the largest). */
    eldP50: quantile(
      samples.map((s) => s.eldP50),
      0.5,
    ),
    eldP99Median: quantile(
      samples.map((s) => s.eldP99),
      0.5,
    ),
    eldP99Max: Math.max(...samples.map((s) => s.eldP99).filter(Number.isFinite)),
    eldMax: Math.max(...samples.map((s) => s.eldMax).filter(Number.isFinite)),
    cpuMean: samples.reduce((s, x) => s + x.cpuPct, 0) / samples.length,
  };
}

export type Figures = ReturnType<typeof phaseFigures>;

export function sideBySide(idle: Figures, load: Figures, idleMinutes: number, loadMinutes: number): string[] {
  const row = (label: string, a: string, b: string) => `| ${label} | ${a} | ${b} |`;
  return [
    `| figure | idle baseline (${idleMinutes} min) | mixed load (${loadMinutes} min) |`,
    '| --- | ---: | ---: |',
    row('5 s windows', String(idle.windows), String(load.windows)),
    row('RSS at start (after the first 20 %), MB', f1(idle.rssStart), f1(load.rssStart)),
    row('RSS at the end, MB', f1(idle.rssEnd), f1(load.rssEnd)),
    row('RSS highest (last 80 %), MB', f1(idle.rssMax), f1(load.rssMax)),
    row('RSS slope over the last 80 %, MB/min', idle.rssSlope.toFixed(2), load.rssSlope.toFixed(2)),
    row(
      'V8 heap used start → end, MB',
      `${f1(idle.heapStart)} → ${f1(idle.heapEnd)}`,
      `${f1(load.heapStart)} → ${f1(load.heapEnd)}`,
    ),
    row('V8 heap slope over the last 80 %, MB/min', idle.heapSlope.toFixed(2), load.heapSlope.toFixed(2)),
    row(
      'open fds start → end',
      `${f0(idle.fdsStart)} → ${f0(idle.fdsEnd)}`,
      `${f0(load.fdsStart)} → ${f0(load.fdsEnd)}`,
    ),
    row('event-loop delay p50 (median of windows), ms', f1(idle.eldP50), f1(load.eldP50)),
    row(
      'event-loop delay p99 (median / largest window), ms',
      `${f1(idle.eldP99Median)} / ${f1(idle.eldP99Max)}`,
      `${f1(load.eldP99Median)} / ${f1(load.eldP99Max)}`,
    ),
    row('event-loop delay max, ms', f1(idle.eldMax), f1(load.eldMax)),
    row('server CPU, mean %', f0(idle.cpuMean), f0(load.cpuMean)),
  ];
}

export function revocationLines(revs: readonly Revocation[]): string[] {
  const lines = [
    '| at s | sockets | closed with | close ms after revokeApiKey (min / max) | still open | revoke request ms | HTTP with the key after |',
    '| ---: | ---: | --- | ---: | ---: | ---: | --- |',
  ];
  for (const r of revs)
    lines.push(
      r.error && r.closeMs.length === 0
        ? `| ${r.at.toFixed(0)} | ${r.sockets} | not run: ${r.error} | | | | |`
        : `| ${r.at.toFixed(0)} | ${r.sockets} | ${codes(r.codes)} | ${f0(Math.min(...r.closeMs))} / ${f0(Math.max(...r.closeMs))} | ${r.stillOpen} | ${f0(r.revokeMs)} | ${r.httpAfter}${r.error ? ` (${r.error})` : ''} |`,
    );
  return lines;
}

/** Failures around the Redis restart: codes, and the last one sent after Redis was back. */
export function outageFailures(failures: readonly Failure[], stoppedAt: number, upAt: number, until: number) {
  const inWindow = failures
    .filter((f) => f.sentAt >= stoppedAt && f.sentAt <= until)
    .sort((a, b) => a.sentAt - b.sentAt);
  const byCode = new Map<string, number>();
  for (const f of inWindow) byCode.set(`${f.op}: ${f.code}`, (byCode.get(`${f.op}: ${f.code}`) ?? 0) + 1);
  const afterUp = inWindow.filter((f) => f.sentAt >= upAt);
  return {
    byCode: codes(byCode),
    count: inWindow.length,
    firstAfterStopMs: inWindow.length ? inWindow[0]!.sentAt - stoppedAt : NaN,
    lastAfterUpMs: afterUp.length ? afterUp.at(-1)!.sentAt - upAt : 0,
  };
}

export { codes as formatCodes, f0, f1 };
