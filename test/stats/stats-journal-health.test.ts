import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKLOG_LAGGING_ROWS, journalHealthCheck } from '../../src/platform/rollup-compaction.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { testPool } from '../helpers/test-pool.js';

interface Component {
  name: string;
  status: string;
  mode: string;
  detail: string | null;
}

const HEALTH = '{ health { status components { name status mode detail } } }';
const INGEST = `mutation ($inputs: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $inputs) { accepted } }`;

// Without workers nothing compacts the journals, so what the writes leave stays there.
let t: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  t = await startTestApp('stats_journal_health', { WORKERS: 'off' });
  pool = testPool(t.databaseUrl, { max: 1 });
});

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

async function health(): Promise<{ status: string; statistics: Component[] }> {
  const res = await t.gql<{ health: { status: string; components: Component[] } }>(HEALTH);
  expect(res.errors).toBeUndefined();
  return {
    status: res.data!.health.status,
    statistics: res.data!.health.components.filter((c) => c.name.endsWith('-statistics')),
  };
}

describe('statistics journal backlog in health', () => {
  it('reports the rows waiting for compaction, and DEGRADED once they pass the bound', async () => {
    expect(await health()).toEqual({
      status: 'OK',
      statistics: [
        {
          name: 'threat-statistics',
          status: 'UP',
          mode: 'journal',
          detail: 'rows waiting for compaction: threat events 0',
        },
        {
          name: 'crowdsec-statistics',
          status: 'UP',
          mode: 'journal',
          detail: 'rows waiting for compaction: alerts 0, decisions 0',
        },
      ],
    });

    const inputs = [1, 2, 3].map((i) => ({ sourceIp: `198.51.100.${i}`, threatType: 'scan', severity: 3 }));
    const ingested = await t.gql<{ ingestThreatEvents: { accepted: number } }>(INGEST, { inputs });
    expect(ingested.data?.ingestThreatEvents.accepted).toBe(3);
    const three = await health();
    expect(three.status).toBe('OK');
    expect(three.statistics[0]).toMatchObject({
      status: 'UP',
      detail: 'rows waiting for compaction: threat events 3',
    });

    // A backlog one row short of the bound is still healthy; the bound itself is not.
    const copies = BACKLOG_LAGGING_ROWS - 4; // copies of one row, beside the three
    await pool.query(
      `INSERT INTO stats_threat_pending (at, country_code, category, threat_type, severity, source_ip,
         destination_port, city, latitude, longitude, approximate, n)
       SELECT at, country_code, category, threat_type, severity, source_ip, destination_port, city,
              latitude, longitude, approximate, n
       FROM (SELECT * FROM stats_threat_pending LIMIT 1) one, generate_series(1, $1::int)`,
      [copies],
    );
    // Now BACKLOG_LAGGING_ROWS - 1 rows wait.
    const short = await health();
    expect(short.status).toBe('OK');
    expect(short.statistics[0]).toMatchObject({
      status: 'UP',
      detail: `rows waiting for compaction: threat events ${BACKLOG_LAGGING_ROWS - 1}`,
    });

    await t.gql(INGEST, { inputs: [{ sourceIp: '198.51.100.9', threatType: 'scan', severity: 3 }] });
    const lagging = await health();
    expect(lagging).toEqual({
      status: 'DEGRADED',
      statistics: [
        {
          name: 'threat-statistics',
          status: 'DOWN',
          mode: 'journal',
          detail:
            `statistics lag behind writes, rows waiting for compaction: threat events ${BACKLOG_LAGGING_ROWS}+` +
            ' (is any instance running workers?)',
        },
        {
          name: 'crowdsec-statistics',
          status: 'UP',
          mode: 'journal',
          detail: 'rows waiting for compaction: alerts 0, decisions 0',
        },
      ],
    });

    // What the workers would do: once compacted, healthy again.
    let moved = 0;
    for (;;) {
      const { rows } = await pool.query<{ n: number }>('SELECT stats_threat_pending_compact(100000) AS n');
      moved += rows[0]!.n;
      if (rows[0]!.n < 100_000) break;
    }
    expect(moved).toBe(BACKLOG_LAGGING_ROWS);
    const after = await health();
    expect(after.status).toBe('OK');
    expect(after.statistics[0]?.detail).toBe('rows waiting for compaction: threat events 0');
  });
});

describe('the journal health check', () => {
  it('shares one count among health queries arriving together, and counts afresh after', async () => {
    let queries = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const pool = {
      query: async () => {
        queries += 1;
        await held;
        return { rows: [{ n: 7 }] };
      },
    } as unknown as pg.Pool;
    const check = journalHealthCheck('x-statistics', pool, [
      { label: 'a', table: 'a_pending' },
      { label: 'b', table: 'b_pending' },
    ]).check!;
    const together = Array.from({ length: 10 }, () => check());
    expect(queries).toBe(2); // one count per journal, for all ten
    release();
    const results = await Promise.all(together);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatchObject({ down: false, detail: 'rows waiting for compaction: a 7, b 7' });
    await check();
    expect(queries).toBe(4);
  });
});
