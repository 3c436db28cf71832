/**
 * A loopback stand-in for a LAPI's bouncer stream, only for volume: a real LAPI 1.4
 * on sqlite takes minutes to hold 100,000 decisions, and its behaviour is covered by
 * the real-LAPI tests. The body is generated piece by piece and written with
 * back-pressure, so neither side needs the whole ~15 MB in memory, and it has the
 * LAPI's shape: `{"deleted":[…]|null,"new":[…]|null}` (Go's field order), decisions
 * with `id, origin, type, scope, value, duration, scenario, simulated`.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SnapshotSpec {
  /** Decisions under `new`, ids `firstId …`. */
  count: number;
  firstId?: number;
  /** Decisions under `deleted`, ids after the new ones. */
  deleted?: number;
  /** Body chunks of about this many decisions. */
  perChunk?: number;
  /** Ends the body cleanly after this many pieces: a cut-off snapshot. */
  cutAfterPieces?: number;
}

export interface FakeLapiSnapshot {
  url: string;
  /** The next snapshot served; `startup=false` always gets empty (null) lists. */
  spec: SnapshotSpec;
  /** Query strings of the requests seen. */
  requests: string[];
  /** When each body was completely written (performance.now()). */
  finished: number[];
  /** The whole body as one string (for a buffered baseline). */
  body(spec?: SnapshotSpec): string;
  stop(): Promise<void>;
}

export const BOUNCER_KEY = 'fake-bouncer-key';

/** A public-looking IPv4 address per id, spread over many countries. */
export function decisionIp(id: number): string {
  const a = 1 + ((id * 7) % 222); // 1…222: skips 0, multicast and reserved ranges
  return `${a === 10 || a === 127 ? a + 1 : a}.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`;
}

export function decisionJson(id: number, deleted = false): string {
  const scenario = ['crowdsecurity/ssh-bf', 'crowdsecurity/http-probing', 'crowdsecurity/CVE-2021-41773'][
    id % 3
  ];
  return JSON.stringify({
    id,
    origin: id % 5 === 0 ? 'cscli' : 'crowdsec',
    type: 'ban',
    scope: 'Ip',
    value: decisionIp(id),
    duration: deleted ? '-1m2.5s' : `${1 + (id % 4)}h${id % 60}m${id % 60}.25s`,
    scenario,
    simulated: false,
  });
}

/** The body as a sequence of string pieces. */
export function* snapshotPieces(spec: SnapshotSpec): Generator<string> {
  const first = spec.firstId ?? 1;
  const per = spec.perChunk ?? 500;
  const list = function* (from: number, n: number, deleted: boolean): Generator<string> {
    if (n === 0) {
      yield 'null';
      return;
    }
    yield '[';
    for (let i = 0; i < n; i += per) {
      const ids = Array.from({ length: Math.min(per, n - i) }, (_, k) => from + i + k);
      yield (i ? ',' : '') + ids.map((id) => decisionJson(id, deleted)).join(',');
    }
    yield ']';
  };
  yield '{"deleted":';
  yield* list(first + spec.count, spec.deleted ?? 0, true);
  yield ',"new":';
  yield* list(first, spec.count, false);
  yield '}';
}

async function writeAll(
  res: ServerResponse,
  pieces: Iterable<string>,
  finished: number[],
  cutAfter = Infinity,
): Promise<void> {
  let written = 0;
  for (const piece of pieces) {
    if (written++ >= cutAfter) break;
    if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
    if (res.destroyed) return;
  }
  res.end(() => finished.push(performance.now()));
}

export async function startFakeLapiSnapshot(spec: SnapshotSpec): Promise<FakeLapiSnapshot> {
  const requests: string[] = [];
  const finished: number[] = [];
  const fake: { spec: SnapshotSpec } = { spec };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(url.search);
    if (url.pathname !== '/v1/decisions/stream') return res.writeHead(404).end();
    if (req.headers['x-api-key'] !== BOUNCER_KEY) {
      return res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"access forbidden"}');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const startup = url.searchParams.get('startup') === 'true';
    void writeAll(
      res,
      startup ? snapshotPieces(fake.spec) : ['{"deleted":null,"new":null}'],
      finished,
      startup ? fake.spec.cutAfterPieces : undefined,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    requests,
    finished,
    body: (s?: SnapshotSpec) => [...snapshotPieces(s ?? fake.spec)].join(''),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}
