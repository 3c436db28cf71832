import http from 'node:http';

/**
 * Open-loop load: requests are scheduled at a fixed rate whatever the responses do, and
 * latency is measured from the scheduled time, so a stall shows up in the percentiles
 * instead of silently lowering the rate (no coordinated omission).
 */
export async function singleEventLatency(
  url: string,
  key: string,
  inputs: readonly unknown[],
  opts: { rps: number; seconds: number; connections: number; tag?: string; query?: string },
) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  // `query` (without variables) replaces the ingest, e.g. `{ __typename }` as a baseline.
  const query =
    opts.query ?? 'mutation($input: ThreatEventInput!) { ingestThreatEvent(input: $input) { id } }';
  const total = opts.rps * opts.seconds;
  const latencies: number[] = [];
  /** How late this process fired each request: large values mean the generator, not the server, stalled. */
  const lags: number[] = [];
  let errors = 0;
  const start = performance.now() + 100;
  const send = (i: number) =>
    new Promise<void>((resolve) => {
      const scheduled = start + (i * 1000) / opts.rps;
      const fire = () => {
        lags.push(performance.now() - scheduled);
        const input = {
          ...(inputs[i % inputs.length] as object),
          externalId: `${opts.tag ?? 'single'}-${start}-${i}`,
        };
        const body = JSON.stringify(opts.query ? { query } : { query, variables: { input } });
        const req = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${key}`,
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => {
              latencies.push(performance.now() - scheduled);
              if (res.statusCode !== 200 || text.includes('"errors"')) errors += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.end(body);
      };
      setTimeout(fire, Math.max(0, scheduled - performance.now()));
    });
  await Promise.all(Array.from({ length: total }, (_, i) => send(i)));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const quantile = (sorted: number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const at = (q: number) => quantile(latencies, q);
  return {
    ...opts,
    count: total,
    errors,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: latencies.at(-1) ?? NaN,
    sendLagP99: quantile(lags, 0.99),
    sendLagMax: lags.at(-1) ?? NaN,
  };
}
