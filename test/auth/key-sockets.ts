import { expect, vi } from 'vitest';
import type { TestApp } from '../helpers/test-app.js';
import { rawWs } from '../server/raw-ws.js';

/** What the revocation tests wait for: generous, as each waits for a condition. */
export const WAIT = { timeout: 10_000, interval: 50 };

/** An acknowledged socket on `t` with one running heartbeat subscription (`hb`). */
export async function socketWithSubscription(t: TestApp, secret: string) {
  const s = await rawWs(t.wsUrl, secret);
  await vi.waitFor(() => expect(s.acked()).toBe(true), WAIT);
  s.subscribe('hb', 'subscription { heartbeat(intervalSeconds: 1) }');
  await vi.waitFor(() => expect(s.of('hb', 'next').length).toBeGreaterThan(0), WAIT);
  return s;
}

/** The names of every key, revoked ones included, sorted. */
export async function keyNames(t: TestApp): Promise<string[]> {
  const res = await t.gql<{ apiKeys: { edges: { node: { name: string } }[] } }>(
    '{ apiKeys(first: 100, includeRevoked: true) { edges { node { name } } } }',
  );
  return res.data!.apiKeys.edges.map((e) => e.node.name).sort();
}
