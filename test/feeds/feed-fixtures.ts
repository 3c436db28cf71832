/** HTTP helpers and seeded data shared by the feed tests. */
import type pg from 'pg';
import type { TestApp } from '../helpers/test-app.js';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** GET `path` on the app, with `key` as a Bearer token (null: no key). */
export async function get(
  t: TestApp,
  path: string,
  key: string | null = t.adminKey,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const res = await fetch(new URL(path, t.origin), {
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export interface DecisionSeed {
  value: string;
  type?: string;
  scope?: string;
  /** Minutes from now; negative: already expired. */
  expiresIn?: number;
  deleted?: boolean;
  simulated?: boolean;
}

let nextCrowdsecId = 1;

/** Stores decisions as the CrowdSec poller would (our own LAPI URL, fresh LAPI ids). */
export async function seedDecisions(pool: pg.Pool, seeds: readonly DecisionSeed[]): Promise<void> {
  for (const d of seeds) {
    await pool.query(
      `INSERT INTO crowdsec_decisions
         (lapi_url, crowdsec_id, origin, type, scope, value, scenario, simulated, expires_at, deleted_at)
       VALUES ('http://lapi.test', $1, 'crowdsec', $2, $3, $4, 'crowdsecurity/ssh-bf', $5,
               now() + make_interval(mins => $6), CASE WHEN $7 THEN now() END)`,
      [
        nextCrowdsecId++,
        d.type ?? 'ban',
        d.scope ?? 'Ip',
        d.value,
        d.simulated ?? false,
        d.expiresIn ?? 240,
        d.deleted ?? false,
      ],
    );
  }
}

export async function createKey(t: TestApp, role: string): Promise<{ id: string; secret: string }> {
  const res = await t.gql<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
    `mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { apiKey { id } secret } }`,
    { n: `feeds-${role}-${Math.random().toString(36).slice(2, 8)}`, r: role },
  );
  if (res.errors) throw new Error(res.errors[0]!.message);
  return { id: res.data!.createApiKey.apiKey.id, secret: res.data!.createApiKey.secret };
}

export async function revokeKey(t: TestApp, id: string): Promise<void> {
  const res = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) }`, { id });
  if (res.errors) throw new Error(res.errors[0]!.message);
}

/** `n` CRITICAL (score 90) IPv4 IOCs, 10.0.0.1 upwards, in one statement. */
export async function seedCriticalIps(pool: pg.Pool, n: number): Promise<void> {
  await pool.query(
    `INSERT INTO iocs (type, value, risk_score, risk_level, categories)
     SELECT 'IPV4', '10.' || (g >> 16) || '.' || ((g >> 8) & 255) || '.' || (g & 255), 90, 'CRITICAL', '{SCAN}'
       FROM generate_series(1, $1::int) g`,
    [n],
  );
}
