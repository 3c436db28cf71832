/**
 * threatStats, threatTimeSeries and threatMap through the GraphQL API on hand-placed
 * events around bucket edges: [since, until) takes an event at since and leaves one at
 * until out, `previous` is the window of the same length just before, and partial
 * hours at the edges count exactly. Expected values are worked out in the comments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_ONE, IPS } from '../threats/threat-fixtures.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// H: an hour start ten days ago, so every window below lies in the past.
const H = Math.floor((Date.now() - 10 * DAY) / HOUR) * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const ROW = 'category severity threatType countryCode sourceIp destinationPort count previousCount';

describe('threat-event analytics', () => {
  let t: TestApp;
  let scanCategory: string;

  beforeAll(async () => {
    t = await startTestApp('threat_stats_api', { RATE_LIMIT_POINTS: '100000' });
    const ssh = { threatType: 'ssh_bruteforce', description: 'Failed password for root', tags: ['ssh'] };
    const scan = { threatType: 'port_scan', description: 'SYN scan of many ports', tags: ['scan'] };
    const fixtures = [
      { at: H - 2 * HOUR - 1, ip: IPS.JP, sev: 4, port: 22, ...ssh }, // e8: before previous window
      { at: H - 2 * HOUR, ip: IPS.DE, sev: 5, port: 22, ...ssh }, // e1: first of previous
      { at: H - 1, ip: IPS.US, sev: 7, port: 22, ...ssh }, // e2: last of previous
      { at: H, ip: IPS.US, sev: 7, port: 22, ...ssh }, // e3: first of window
      { at: H + 30 * MIN, ip: IPS.US, sev: 3, port: 443, ...scan }, // e4
      { at: H + HOUR, ip: IPS.DE, sev: 5, port: 22, ...ssh }, // e5: second hour
      { at: H + 2 * HOUR - 1, ip: IPS.JP, sev: 9, port: null, ...ssh }, // e6: last of window
      { at: H + 2 * HOUR, ip: IPS.US, sev: 7, port: 22, ...ssh }, // e7: at until, outside
    ];
    const categories: string[] = [];
    for (const f of fixtures) {
      const res = await t.gql<{ ingestThreatEvent: { classification: { category: string } } }>(INGEST_ONE, {
        input: event({
          sourceIp: f.ip,
          severity: f.sev,
          destinationPort: f.port,
          threatType: f.threatType,
          description: f.description,
          tags: f.tags,
          occurredAt: iso(f.at),
        }),
      });
      expect(res.errors).toBeUndefined();
      categories.push(res.data!.ingestThreatEvent.classification.category);
    }
    // The classifier decides categories; the statistics must group by what it stored.
    scanCategory = categories[4]!;
    expect(categories.filter((c, i) => i !== 4 && c === scanCategory)).toEqual([]);
    expect(new Set(categories.filter((_, i) => i !== 4)).size).toBe(1);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const stats = async (args: string) => {
    const res = await t.gql<{ threatStats: Record<string, unknown>[] }>(
      `query { threatStats(${args}) { ${ROW} } }`,
    );
    expect(res.errors).toBeUndefined();
    return res.data!.threatStats;
  };
  const none = {
    category: null,
    severity: null,
    threatType: null,
    countryCode: null,
    sourceIp: null,
    destinationPort: null,
  };

  it('counts [since, until) by threat type beside the previous window of the same length', async () => {
    // Window [H, H+2h): e3, e5, e6 ssh (3), e4 scan (1). Previous [H−2h, H): e1, e2 ssh (2).
    expect(
      await stats(
        `since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", groupBy: [THREAT_TYPE], previous: true`,
      ),
    ).toEqual([
      { ...none, threatType: 'ssh_bruteforce', count: 3, previousCount: 2 },
      { ...none, threatType: 'port_scan', count: 1, previousCount: 0 },
    ]);
  });

  it('groups by several dimensions, ties ordered by the key', async () => {
    // One event each: DE/5 (e5), JP/9 (e6), US/3 (e4), US/7 (e3).
    expect(
      await stats(`since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", groupBy: [COUNTRY, SEVERITY]`),
    ).toEqual([
      { ...none, countryCode: 'DE', severity: 5, count: 1, previousCount: null },
      { ...none, countryCode: 'JP', severity: 9, count: 1, previousCount: null },
      { ...none, countryCode: 'US', severity: 3, count: 1, previousCount: null },
      { ...none, countryCode: 'US', severity: 7, count: 1, previousCount: null },
    ]);
    // Sources and ports (read from the daily endpoint rollup and the rows of the partial day);
    // ties by address (5.9.0.1 < 8.8.8.8 < 133.242.0.1 as numbers), then port.
    expect(
      await stats(
        `since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", groupBy: [SOURCE_IP, DESTINATION_PORT]`,
      ),
    ).toEqual([
      { ...none, sourceIp: IPS.DE, destinationPort: 22, count: 1, previousCount: null },
      { ...none, sourceIp: IPS.US, destinationPort: 22, count: 1, previousCount: null },
      { ...none, sourceIp: IPS.US, destinationPort: 443, count: 1, previousCount: null },
      { ...none, sourceIp: IPS.JP, destinationPort: null, count: 1, previousCount: null },
    ]);
    // limit keeps the largest: US (e3, e4) first.
    expect(
      await stats(`since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", groupBy: [COUNTRY], limit: 1`),
    ).toEqual([{ ...none, countryCode: 'US', count: 2, previousCount: null }]);
    expect(
      await stats(`since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", groupBy: [CATEGORY, THREAT_TYPE]`),
    ).toContainEqual({
      ...none,
      category: scanCategory,
      threatType: 'port_scan',
      count: 1,
      previousCount: null,
    });
  });

  it('counts partial hours at both edges exactly, and whole days in long windows', async () => {
    // [H+30m, H+1h+1ms): e4 and e5. Previous [H−1ms, H+30m): e2 and e3.
    expect(
      await stats(
        `since: "${iso(H + 30 * MIN)}", until: "${iso(H + HOUR + 1)}", groupBy: [], previous: true`,
      ),
    ).toEqual([{ ...none, count: 2, previousCount: 2 }]);
    // Three days back to H+3h: all eight events (whole days from the daily rollup).
    expect(await stats(`since: "${iso(H - 3 * DAY)}", until: "${iso(H + 3 * HOUR)}", groupBy: []`)).toEqual([
      { ...none, count: 8, previousCount: null },
    ]);
  });

  it('threatTimeSeries: zero-filled buckets, the top groups in each, and the shifted previous buckets', async () => {
    const res = await t.gql<{ threatTimeSeries: unknown[] }>(
      `query { threatTimeSeries(bucket: HOUR, since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}",
                 groupBy: THREAT_TYPE, previous: true) {
         start count previousStart previousCount groups { threatType count previousCount } } }`,
    );
    expect(res.errors).toBeUndefined();
    // [H]: e3 ssh, e4 scan; [H+1h]: e5, e6 ssh. Previous buckets: [H−2h]: e1; [H−1h]: e2.
    expect(res.data?.threatTimeSeries).toEqual([
      {
        start: iso(H),
        count: 2,
        previousStart: iso(H - 2 * HOUR),
        previousCount: 1,
        groups: [
          { threatType: 'ssh_bruteforce', count: 1, previousCount: 1 },
          { threatType: 'port_scan', count: 1, previousCount: 0 },
        ],
      },
      {
        start: iso(H + HOUR),
        count: 2,
        previousStart: iso(H - HOUR),
        previousCount: 1,
        groups: [
          { threatType: 'ssh_bruteforce', count: 2, previousCount: 1 },
          { threatType: 'port_scan', count: 0, previousCount: 0 },
        ],
      },
    ]);
  });

  it('threatTimeSeries without previous: the top groups by count then key, zeros where a group is absent', async () => {
    const series = async (args: string) => {
      const res = await t.gql<{ threatTimeSeries: unknown[] }>(
        `query { threatTimeSeries(bucket: HOUR, since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", ${args}) {
           start count previousCount groups { threatType severity countryCode count previousCount } } }`,
      );
      expect(res.errors).toBeUndefined();
      return res.data?.threatTimeSeries;
    };
    const g = (fields: Record<string, unknown>, count: number) => ({
      threatType: null,
      severity: null,
      countryCode: null,
      ...fields,
      count,
      previousCount: null,
    });
    // Window: [H] e3 (ssh, 7, US), e4 (scan, 3, US); [H+1h] e5 (ssh, 5, DE), e6 (ssh, 9, JP).
    // ssh has 3 events, scan 1: limit 1 keeps ssh.
    expect(await series('groupBy: THREAT_TYPE, limit: 1')).toEqual([
      { start: iso(H), count: 2, previousCount: null, groups: [g({ threatType: 'ssh_bruteforce' }, 1)] },
      {
        start: iso(H + HOUR),
        count: 2,
        previousCount: null,
        groups: [g({ threatType: 'ssh_bruteforce' }, 2)],
      },
    ]);
    // Severities 7, 3, 5, 9 once each: a four-way tie, broken by the smaller severity: 3 and 5.
    expect(await series('groupBy: SEVERITY, limit: 2')).toEqual([
      {
        start: iso(H),
        count: 2,
        previousCount: null,
        groups: [g({ severity: 3 }, 1), g({ severity: 5 }, 0)],
      },
      {
        start: iso(H + HOUR),
        count: 2,
        previousCount: null,
        groups: [g({ severity: 3 }, 0), g({ severity: 5 }, 1)],
      },
    ]);
    // US 2 (e3, e4), then DE and JP 1 each: DE before JP.
    expect(await series('groupBy: COUNTRY, limit: 2')).toEqual([
      {
        start: iso(H),
        count: 2,
        previousCount: null,
        groups: [g({ countryCode: 'US' }, 2), g({ countryCode: 'DE' }, 0)],
      },
      {
        start: iso(H + HOUR),
        count: 2,
        previousCount: null,
        groups: [g({ countryCode: 'US' }, 0), g({ countryCode: 'DE' }, 1)],
      },
    ]);
    expect(await series('limit: 3')).toEqual([
      { start: iso(H), count: 2, previousCount: null, groups: [] },
      { start: iso(H + HOUR), count: 2, previousCount: null, groups: [] },
    ]);
  });

  it('threatMap takes until and categories', async () => {
    const map = async (args: string) => {
      const res = await t.gql<{ threatMap: { countryCode: string; count: number; maxSeverity: number }[] }>(
        `query { threatMap(${args}) { countryCode count maxSeverity } }`,
      );
      expect(res.errors).toBeUndefined();
      return res.data!.threatMap;
    };
    // [H, H+2h): US e3 (7) + e4 (3), JP e6 (9), DE e5 (5).
    expect(await map(`since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}"`)).toEqual([
      { countryCode: 'US', count: 2, maxSeverity: 7 },
      { countryCode: 'JP', count: 1, maxSeverity: 9 },
      { countryCode: 'DE', count: 1, maxSeverity: 5 },
    ]);
    expect(
      await map(`since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}", categories: [${scanCategory}]`),
    ).toEqual([{ countryCode: 'US', count: 1, maxSeverity: 3 }]);
  });

  it.each([
    ['groupBy: [COUNTRY, COUNTRY]', { argument: 'groupBy' }],
    [
      `groupBy: [${Array.from({ length: 7 }, () => 'COUNTRY').join(', ')}]`,
      { argument: 'groupBy', limit: 6 },
    ],
    ['groupBy: [], limit: 1001', { argument: 'limit', min: 1, limit: 1000 }],
    [`groupBy: [], since: "${iso(H)}", until: "${iso(H)}"`, { argument: 'until' }],
    [`groupBy: [], until: "${iso(Date.now() + DAY)}"`, { argument: 'until' }],
    [`groupBy: [], since: "${iso(Date.now() - 401 * DAY)}"`, { argument: 'since', limit: 400 }],
  ])('threatStats(%s) is BAD_USER_INPUT', async (args, extensions) => {
    const res = await t.gql(`query { threatStats(${args}) { count } }`);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...extensions });
  });

  it.each([
    ['bucket: HOUR, groupBy: SOURCE_IP', { argument: 'groupBy' }],
    ['bucket: DAY, limit: 51', { argument: 'limit', min: 1, limit: 50 }],
    [
      `bucket: HOUR, since: "${iso(H - 2001 * HOUR)}", until: "${iso(H)}"`,
      { argument: 'since', limit: 2000 },
    ],
    ['bucket: DAY, groupBy: CATEGORY, since: "0001-01-01T00:00:00Z"', { argument: 'since', limit: 2000 }],
  ])('threatTimeSeries(%s) is BAD_USER_INPUT', async (args, extensions) => {
    const res = await t.gql(`query { threatTimeSeries(${args}) { count } }`);
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', ...extensions });
  });

  it('statsSummary, countryStats and the top lists take until; a window ending before since is refused', async () => {
    const res = await t.gql<{ statsSummary: { threatEvents: number; until: string } }>(
      `query { statsSummary(since: "${iso(H)}", until: "${iso(H + 2 * HOUR)}") { threatEvents until } }`,
    );
    // e3, e4, e5, e6.
    expect(res.data?.statsSummary).toEqual({ threatEvents: 4, until: iso(H + 2 * HOUR) });
    for (const q of [
      'statsSummary { alerts }',
      'countryStats { alerts }',
      'topAttackers { alerts }',
      'topScenarios { alerts }',
    ]) {
      const [name, fields] = q.split(' { ');
      const bad = await t.gql(`query { ${name}(since: "${iso(H)}", until: "${iso(H - 1)}") { ${fields} }`);
      expect(bad.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'until' });
    }
  });
});
