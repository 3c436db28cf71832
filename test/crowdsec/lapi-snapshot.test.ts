/**
 * Transport behaviour of the streamed snapshot that a healthy real LAPI cannot show
 * (5xx, stalls, oversized or abandoned bodies), against a scripted loopback server.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DecisionBatch } from '../../src/crowdsec/decision-stream-parser.js';
import { LapiClient, type LapiClientOptions } from '../../src/crowdsec/lapi-client.js';
import { snapshotPieces } from '../fakes/fake-lapi-snapshot.js';
import { scriptedServer } from '../helpers/scripted-server.js';

const upstream = scriptedServer();

const client = (over: Partial<LapiClientOptions> = {}) =>
  new LapiClient({
    baseUrl: upstream.baseUrl,
    bouncerKey: 'key',
    userAgent: 'threatwire/0.1.0',
    timeoutMs: 1_000,
    logger: pino({ level: 'silent' }),
    ...over,
  });

async function drain(c: LapiClient, filters = {}, batch = 1000) {
  const batches: DecisionBatch[] = [];
  const it = c.decisionsSnapshot(filters, batch);
  for (;;) {
    const r = await it.next();
    if (r.done) return { batches, totals: r.value };
    batches.push(r.value);
  }
}
const body = (count: number) => [...snapshotPieces({ count, deleted: 1 })].join('');

describe('LapiClient.decisionsSnapshot', () => {
  it('streams batches with totals, sends startup=true and the filters', async () => {
    upstream.handler = (_req, res) => res.writeHead(200).end(body(2500));
    const { batches, totals } = await drain(client(), { scopes: ['ip'], origins: ['cscli'] });
    expect(batches.map((b) => b.decisions.length)).toEqual([1, 1000, 1000, 500]);
    expect(totals).toEqual({ new: 2500, deleted: 1 });
    expect(upstream.hits()).toEqual(['GET /v1/decisions/stream?startup=true&scopes=ip&origins=cscli']);
  });

  it('retries a 5xx before anything was handed out, and maps 403 like buffered calls', async () => {
    let calls = 0;
    upstream.handler = (_req, res) =>
      calls++ === 0 ? res.writeHead(503).end('{"message":"busy"}') : res.writeHead(200).end(body(3));
    await expect(drain(client())).resolves.toMatchObject({ totals: { new: 3, deleted: 1 } });
    expect(upstream.hits()).toHaveLength(2);

    upstream.handler = (_req, res) => res.writeHead(403).end('{"message":"access forbidden"}');
    await expect(drain(client())).rejects.toMatchObject({
      kind: 'UNAUTHORIZED',
      status: 403,
      lapiMessage: 'access forbidden',
    });
  });

  it('does not retry once batches went out: a stalled body times out', async () => {
    upstream.handler = (_req, res) => {
      res.writeHead(200);
      res.write(body(3000).slice(0, 200_000)); // more than one batch, then silence
    };
    const seen: number[] = [];
    const it = client({ timeoutMs: 300 }).decisionsSnapshot();
    await expect(
      (async () => {
        for await (const b of it) seen.push(b.decisions.length);
      })(),
    ).rejects.toMatchObject({ kind: 'TIMEOUT' });
    // The first 200,000 bytes hold the deleted decision and 1,258 new ones: two batches go out.
    expect(seen).toEqual([1, 1000]);
    expect(upstream.hits()).toHaveLength(1);
  });

  it('stops at the snapshot byte cap, and drops the connection when the caller stops early', async () => {
    upstream.handler = (_req, res) => res.writeHead(200).end(body(5000));
    await expect(drain(client({ maxSnapshotBytes: 100_000 }))).rejects.toMatchObject({
      kind: 'RESPONSE_TOO_LARGE',
    });

    let closed = false;
    upstream.handler = (_req, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200);
      res.write(body(50_000).slice(0, 1_000_000)); // never ends by itself
    };
    for await (const b of client().decisionsSnapshot()) {
      expect(b.decisions).toHaveLength(1);
      break;
    }
    await expect.poll(() => closed).toBe(true);
  });
});
