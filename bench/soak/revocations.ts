import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, type Counters } from './client.js';

export interface Revocation {
  /** Seconds into the load phase. */
  at: number;
  sockets: number;
  /** Close code → sockets closed with it, within `waitMs` of the revocation. */
  codes: Map<number, number>;
  /** ms from sending `revokeApiKey` to each socket's close. */
  closeMs: number[];
  /** ms the `revokeApiKey` request took. */
  revokeMs: number;
  /** Sockets still open `waitMs` after the revocation. */
  stillOpen: number;
  /** What an HTTP request with the revoked key got (an error code, or `OK`). */
  httpAfter: string;
  /** The cycle could not run (creating the key or opening its sockets failed). */
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates a READER key, opens `sockets` graphql-ws sockets with it, each with a running
 * `heartbeat` subscription (its first tick proves the operation runs), revokes the key
 * over HTTP and times each socket's close. Sockets open after `waitMs` are closed here.
 */
export async function revocationCycle(o: {
  url: string;
  wsUrl: string;
  adminKey: string;
  counters: Counters;
  sockets: number;
  at: number;
  waitMs: number;
}): Promise<Revocation> {
  const result: Revocation = {
    at: o.at,
    sockets: o.sockets,
    codes: new Map(),
    closeMs: [],
    revokeMs: NaN,
    stillOpen: 0,
    httpAfter: '',
  };
  const created = await gql(
    o.counters,
    o.url,
    o.adminKey,
    'createApiKey',
    'mutation Create($name: String!) { createApiKey(name: $name, role: READER) { apiKey { id } secret } }',
    { name: `soak-revoked-${Math.round(o.at)}` },
  );
  const key = created.data?.createApiKey as { apiKey: { id: string }; secret: string } | undefined;
  if (!key) return { ...result, error: `createApiKey: ${created.codes.join(', ')}` };

  let revokedAt = Number.POSITIVE_INFINITY;
  const closedAt: number[] = [];
  const ticked: boolean[] = [];
  const clients: Client[] = [];
  for (let i = 0; i < o.sockets; i++) {
    const client = createClient({
      url: o.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { apiKey: key.secret },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined, // the close is recorded below; graphql-ws would print it
      on: {
        closed: (ev) => {
          if (closedAt[i] !== undefined) return;
          closedAt[i] = performance.now();
          const code = (ev as { code?: number }).code ?? 0;
          if (closedAt[i]! >= revokedAt) result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
        },
      },
    });
    client.subscribe(
      { query: 'subscription Beat { heartbeat(intervalSeconds: 1) }' },
      { next: () => void (ticked[i] = true), error: () => undefined, complete: () => undefined },
    );
    clients.push(client);
  }
  const dispose = () => Promise.all(clients.map(async (c) => c.dispose()));
  const openBy = performance.now() + 20_000;
  while (ticked.filter(Boolean).length < o.sockets && performance.now() < openBy) await sleep(20);
  const running = ticked.filter(Boolean).length;
  if (running < o.sockets) {
    await dispose();
    return { ...result, error: `only ${running} of ${o.sockets} sockets ran their subscription` };
  }

  revokedAt = performance.now();
  const revoked = await gql(
    o.counters,
    o.url,
    o.adminKey,
    'revokeApiKey',
    'mutation Revoke($id: ID!) { revokeApiKey(id: $id) }',
    { id: key.apiKey.id },
  );
  result.revokeMs = performance.now() - revokedAt;
  if (revoked.data?.revokeApiKey !== true)
    result.error = `revokeApiKey: ${revoked.codes.join(', ') || 'false'}`;
  const until = revokedAt + o.waitMs;
  while (closedAt.filter((t) => t !== undefined).length < o.sockets && performance.now() < until)
    await sleep(10);
  result.closeMs = closedAt.filter((t) => t !== undefined && t >= revokedAt).map((t) => t - revokedAt);
  result.stillOpen = o.sockets - closedAt.filter((t) => t !== undefined).length;
  const after = await gql(
    o.counters,
    o.url,
    key.secret,
    'revoked',
    'query Me { viewer { id } }',
    undefined,
    false,
  );
  result.httpAfter = after.codes[0] ?? 'OK';
  await dispose();
  return result;
}
