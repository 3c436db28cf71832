/**
 * Exports through the API: a mutation returns a signed link, GET on it streams the rows
 * (CSV or JSON Lines) page by page through the list's own service. Decisions and alerts
 * are written as the CrowdSec poller writes them, with fixed times, so every cell is known.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createKey, get, revokeKey } from './feed-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;

interface Link {
  url: string;
  path: string;
  expiresAt: string;
  format: string;
}

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const FAR = '2099-01-01T00:00:00.000Z';

/** Decision rows as stored, newest first (the export's order). */
const decisions: { id?: string; value: string; scenario: string; created: string; expires: string }[] = [
  { value: '203.0.113.50', scenario: '=HYPERLINK("http://x.test","click")', created: at(3), expires: FAR },
  { value: '203.0.113.51', scenario: 'a "quoted", scenario', created: at(2), expires: FAR },
  { value: '203.0.113.52', scenario: 'crowdsecurity/ssh-bf', created: at(1), expires: at(2) },
];

beforeAll(async () => {
  t = await startTestApp('feeds_exports');
  pool = testPool(t.databaseUrl, { max: 1 });
  let crowdsecId = 100;
  for (const d of [...decisions].reverse()) {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at, created_at)
       VALUES ('http://lapi.test', $1, 'cscli', 'ban', 'Ip', $2, $3, $4, $5) RETURNING id::text`,
      [crowdsecId++, d.value, d.scenario, d.expires, d.created],
    );
    d.id = rows[0]!.id;
  }
  await pool.query(
    `INSERT INTO crowdsec_alerts (lapi_url, crowdsec_id, scenario, message, events_count, start_at, stop_at,
       lapi_created_at, source_scope, source_value, source_ip, decision_ids)
     VALUES ('http://lapi.test', 7, 'crowdsecurity/http-probing', '+cmd|calc', 12, $1, $2, $2, 'Ip', '198.51.100.9',
       '198.51.100.9', '{101,102}')`,
    [at(10), at(11)],
  );
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

async function link(mutation: string, args: Record<string, unknown>, key = t.adminKey): Promise<Link> {
  const res = await t.gql<Record<string, Link>>(
    `mutation($filter: ${args.type as string}, $format: ExportFormat!) { ${mutation}(filter: $filter, format: $format) { url path expiresAt format } }`,
    { filter: args.filter ?? null, format: args.format },
    key,
  );
  expect(res.errors).toBeUndefined();
  return res.data![mutation]!;
}

const DECISIONS_HEADER =
  'id,crowdsec_id,origin,type,scope,value,scenario,simulated,active,created_at,expires_at,deleted_at,country_code,as_org';

describe('exportDecisions', () => {
  it('CSV: header, one CRLF line per row, newest first; quoting and formula cells made safe', async () => {
    const l = await link('exportDecisions', { type: 'DecisionFilter', format: 'CSV' });
    expect(l.url).toBe(l.path); // no PUBLIC_URL
    expect(l.path).toMatch(/^\/exports\/download\?token=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const res = await get(t, l.path, null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="decisions.csv"');
    const [d0, d1, d2] = decisions as [(typeof decisions)[0], (typeof decisions)[0], (typeof decisions)[0]];
    expect(res.text).toBe(
      [
        DECISIONS_HEADER,
        `${d0.id},102,cscli,ban,Ip,203.0.113.50,"'=HYPERLINK(""http://x.test"",""click"")",false,true,${d0.created},${FAR},,,`,
        `${d1.id},101,cscli,ban,Ip,203.0.113.51,"a ""quoted"", scenario",false,true,${d1.created},${FAR},,,`,
        `${d2.id},100,cscli,ban,Ip,203.0.113.52,crowdsecurity/ssh-bf,false,false,${d2.created},${d2.expires},,,`,
        '',
      ].join('\r\n'),
    );
  });

  it('JSONL with a filter: one object per line, the CSV names as keys', async () => {
    const l = await link('exportDecisions', {
      type: 'DecisionFilter',
      format: 'JSONL',
      filter: { activeOnly: true, value: '203.0.113.51' },
    });
    const res = await get(t, l.path, null);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const d1 = decisions[1]!;
    expect(
      res.text
        .split('\n')
        .slice(0, -1)
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      {
        id: d1.id,
        crowdsec_id: 101,
        origin: 'cscli',
        type: 'ban',
        scope: 'Ip',
        value: '203.0.113.51',
        scenario: 'a "quoted", scenario',
        simulated: false,
        active: true,
        created_at: d1.created,
        expires_at: FAR,
        deleted_at: null,
        country_code: null,
        as_org: null,
      },
    ]);
  });

  it('refuses a bad filter as the decisions query does (BAD_USER_INPUT naming the field)', async () => {
    const res = await t.gql(
      `mutation { exportDecisions(filter: { countryCode: "XYZ" }, format: CSV) { url } }`,
    );
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'filter.countryCode',
    });
  });
});

describe('exportAlerts and exportThreatEvents', () => {
  it('alerts as CSV, a formula-looking message neutralised', async () => {
    const l = await link('exportAlerts', { type: 'AlertFilter', format: 'CSV' });
    const res = await get(t, l.path, null);
    const lines = res.text.split('\r\n');
    expect(lines[0]).toBe(
      'id,crowdsec_id,scenario,message,events_count,start_at,stop_at,source_scope,source_value,source_ip,source_range,machine_id,country_code,decision_ids',
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^\\d+,7,crowdsecurity/http-probing,'\\+cmd\\|calc,12,${at(10)},${at(11)},Ip,198\\.51\\.100\\.9,198\\.51\\.100\\.9,,,,101;102$`,
      ),
    );
    expect(lines.length).toBe(3); // header, one row, the empty string after the last CRLF
  });

  it('threat events as JSONL with a since filter (a DateTime through the signed link)', async () => {
    const ingest = await t.gql<{ ingestThreatEvents: { accepted: number } }>(
      `mutation($in: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $in) { accepted } }`,
      {
        in: [
          { sourceIp: '192.0.2.10', threatType: 'port-scan', severity: 3, occurredAt: at(0) },
          {
            sourceIp: '192.0.2.11',
            threatType: 'port-scan',
            severity: 4,
            occurredAt: at(5),
            externalId: 'ext-export-1',
            destinationIp: '10.0.0.5',
            sourcePort: 40000,
            destinationPort: 22,
            protocol: 'tcp',
            sensor: 'edge-1',
            tags: ['a', 'b'],
            description: '@SUM(1)',
          },
        ],
      },
    );
    expect(ingest.data?.ingestThreatEvents.accepted).toBe(2);
    const l = await link('exportThreatEvents', {
      type: 'ThreatEventFilter',
      format: 'JSONL',
      filter: { since: at(1), sourceIp: '192.0.2.11' },
    });
    const rows = (await get(t, l.path, null)).text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((r) => [r.source_ip, r.severity, r.occurred_at, r.threat_type])).toEqual([
      ['192.0.2.11', 4, at(5), 'port-scan'],
    ]);
    // The submitted fields come back as sent (JSON Lines keeps text as is: no formula prefix).
    expect(rows[0]).toMatchObject({
      external_id: 'ext-export-1',
      destination_ip: '10.0.0.5',
      source_port: 40000,
      destination_port: 22,
      protocol: 'tcp',
      sensor: 'edge-1',
      tags: ['a', 'b'],
      description: '@SUM(1)',
    });
  });
});

describe('export links', () => {
  it('stop working when the key that asked is revoked; another key’s links still work', async () => {
    const a = await createKey(t, 'READER');
    const b = await createKey(t, 'READER');
    const la = await link('exportDecisions', { type: 'DecisionFilter', format: 'CSV' }, a.secret);
    const lb = await link('exportDecisions', { type: 'DecisionFilter', format: 'CSV' }, b.secret);
    expect((await get(t, la.path, null)).status).toBe(200);
    await revokeKey(t, a.id);
    const refused = await get(t, la.path, null);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await get(t, lb.path, null)).status).toBe(200);
  });

  it('refuse a forged or altered token (401)', async () => {
    const l = await link('exportDecisions', { type: 'DecisionFilter', format: 'CSV' });
    const [payload, mac] = l.path.slice('/exports/download?token='.length).split('.') as [string, string];
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...grant, x: 'IOCS' })).toString('base64url');
    const flipped = (mac.startsWith('A') ? 'B' : 'A') + mac.slice(1);
    // The last character holds two spare bits: a variant that decodes to the same bytes is
    // refused too (one canonical spelling per link).
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(mac.at(-1)!);
    const spare =
      mac.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1]!;
    for (const path of [
      `/exports/download?token=${altered}.${mac}`,
      `/exports/download?token=${payload}.${flipped}`,
      `/exports/download?token=${payload}.${spare}`,
      '/exports/download?token=nonsense',
      '/exports/download',
    ]) {
      const res = await get(t, path, null);
      expect([path, res.status]).toEqual([path, 401]);
    }
  });

  it('page through more rows than one page (2,500 rows: 1,000 + 1,000 + 500), each once', async () => {
    const own = await startTestApp('feeds_exports_pages');
    const p = testPool(own.databaseUrl, { max: 1 });
    try {
      await p.query(
        `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at, created_at)
         SELECT 'http://lapi.test', g, 'cscli', 'ban', 'Ip', '10.9.' || (g / 256) || '.' || (g % 256), 's',
                now() + interval '1 day', timestamptz '2026-11-01T00:00:00Z' + g * interval '1 second'
           FROM generate_series(1, 2500) g`,
      );
      const res = await own.gql<{ exportDecisions: Link }>(
        `mutation { exportDecisions(format: JSONL) { path } }`,
      );
      const body = await get(own, res.data!.exportDecisions.path, null);
      const ids = body.text
        .split('\n')
        .slice(0, -1)
        .map((line) => (JSON.parse(line) as { crowdsec_id: number }).crowdsec_id);
      expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => 2500 - i));
    } finally {
      await p.end();
      await own.stop();
    }
  }, 60_000);

  it('exportIocs lists registered IOCs', async () => {
    const watched = await t.gql(`mutation { watchIocs(values: ["198.51.100.77"]) { value } }`);
    expect(watched.errors).toBeUndefined();
    const l = await link('exportIocs', {
      type: 'IocFilter',
      format: 'CSV',
      filter: { valuePrefix: '198.51.100.77' },
    });
    const lines = (await get(t, l.path, null)).text.split('\r\n');
    expect(lines[0]).toBe(
      'value,type,risk_score,risk_level,categories,verdict,watched,first_seen_at,last_seen_at,last_enriched_at',
    );
    expect(lines[1]).toMatch(/^198\.51\.100\.77,IPV4,,,,,true,/);
    expect(lines.length).toBe(3);
  });
});
