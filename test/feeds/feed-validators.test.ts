/**
 * Feed ETags come from a validator (change counters kept by triggers, plus the next
 * expiry inside the feed), not from reading the rows: the ETag changes with each kind
 * of change a feed shows — insert, update, delete, a decision or verdict expiring —
 * stays equal otherwise, and a 304 reads no row of the feed.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorSql } from '../../src/feeds/feed-repository.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { statementsDuring } from '../helpers/statements.js';
import { get, seedDecisions, seedCriticalIps } from './feed-fixtures.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;
/** Feed IOCs seeded so the feeds are not trivially small. */
const BULK = 20_000;

beforeAll(async () => {
  t = await startTestApp('feed_validators', { WORKERS: 'off' });
  pool = testPool(t.databaseUrl, { max: 2 });
  await seedCriticalIps(pool, BULK);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

/** The ETag a HEAD request gets (the validator alone, no body). */
async function etagOf(path: string): Promise<string> {
  const res = await fetch(new URL(path, t.origin), {
    method: 'HEAD',
    headers: { authorization: `Bearer ${t.adminKey}` },
  });
  expect(res.status).toBe(200);
  return res.headers.get('etag')!;
}

/** The ETags of these feeds now. */
async function etags(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) out.push(await etagOf(p));
  return out;
}

const BLOCKLIST = '/feeds/blocklist.txt';
const BLOCKLIST_DECISIONS = '/feeds/blocklist.txt?source=decisions';
const BLOCKLIST_IOCS = '/feeds/blocklist.txt?source=iocs&minScore=0';
const CSV = '/feeds/iocs.csv?minScore=0';
const STIX = '/feeds/stix?minScore=0';
const STIX_BARE = '/feeds/stix?minScore=0&sightings=false';
const ALL = [BLOCKLIST, BLOCKLIST_DECISIONS, BLOCKLIST_IOCS, CSV, STIX, STIX_BARE] as const;

/**
 * Runs `change`, then checks which feeds' ETags moved: exactly `moved` (the others
 * stayed equal), and a second look changes nothing.
 */
async function expectMoved(change: () => Promise<unknown>, moved: readonly string[]): Promise<void> {
  const before = await etags(ALL);
  expect(await etags(ALL)).toEqual(before);
  await change();
  const after = await etags(ALL);
  const changed = ALL.filter((_, i) => after[i] !== before[i]);
  expect(changed).toEqual(ALL.filter((p) => moved.includes(p)));
  expect(await etags(ALL)).toEqual(after);
}

describe('the ETag follows each kind of change', () => {
  it('decisions: insert, shown update, soft and hard delete move the blocklists; seen_at does not', async () => {
    const decisionFeeds = [BLOCKLIST, BLOCKLIST_DECISIONS];
    await expectMoved(() => seedDecisions(pool, [{ value: '203.0.113.50' }]), decisionFeeds);
    expect((await get(t, BLOCKLIST_DECISIONS)).text).toContain('203.0.113.50\n');
    // The poller touches seen_at on every snapshot: no shown column, no new ETag.
    await expectMoved(
      () => pool.query(`UPDATE crowdsec_decisions SET seen_at = now() WHERE value = '203.0.113.50'`),
      [],
    );
    await expectMoved(
      () => pool.query(`UPDATE crowdsec_decisions SET type = 'captcha' WHERE value = '203.0.113.50'`),
      decisionFeeds,
    );
    expect((await get(t, BLOCKLIST_DECISIONS)).text).not.toContain('203.0.113.50');
    await expectMoved(
      () => pool.query(`UPDATE crowdsec_decisions SET type = 'ban' WHERE value = '203.0.113.50'`),
      decisionFeeds,
    );
    await expectMoved(
      () => pool.query(`UPDATE crowdsec_decisions SET deleted_at = now() WHERE value = '203.0.113.50'`),
      decisionFeeds,
    );
    await expectMoved(
      () => pool.query(`DELETE FROM crowdsec_decisions WHERE value = '203.0.113.50'`),
      decisionFeeds,
    );
  });

  it('IOCs: a score moves every IOC feed; categories move CSV and STIX only; last sighting none', async () => {
    const iocFeeds = [BLOCKLIST, BLOCKLIST_IOCS, CSV, STIX, STIX_BARE];
    await expectMoved(
      () =>
        pool.query(`INSERT INTO iocs (type, value, risk_score, risk_level, categories)
                    VALUES ('IPV4', '192.0.2.99', 95, 'CRITICAL', '{SCAN}')`),
      iocFeeds,
    );
    await expectMoved(
      () => pool.query(`UPDATE iocs SET risk_score = 40, risk_level = 'MEDIUM' WHERE value = '192.0.2.99'`),
      iocFeeds,
    );
    await expectMoved(
      () => pool.query(`UPDATE iocs SET categories = '{SCAN,BOTNET}' WHERE value = '192.0.2.99'`),
      [CSV, STIX, STIX_BARE],
    );
    await expectMoved(
      () => pool.query(`UPDATE iocs SET last_sighted_at = now() WHERE value = '192.0.2.99'`),
      [],
    );
    await expectMoved(() => pool.query(`DELETE FROM iocs WHERE value = '192.0.2.99'`), iocFeeds);
  });

  it('sightings: a threat event or alert moves the STIX feed with sightings only', async () => {
    await expectMoved(
      () =>
        pool.query(`INSERT INTO threat_events (external_id, occurred_at, source_ip, threat_type, severity,
                      confidence, category, category_confidence, classification_method)
                    VALUES ('validator-1', now(), '10.0.0.1', 'scan', 5, 0.5, 'SCAN', 0.5, 'RULES')`),
      [STIX],
    );
    await expectMoved(
      () => pool.query(`DELETE FROM threat_events WHERE external_id = 'validator-1'`),
      [STIX],
    );
  });

  it('a transaction that changes nothing a feed shows leaves every ETag alone', async () => {
    await expectMoved(
      () => pool.query(`UPDATE iocs SET risk_score = risk_score WHERE value = '10.0.0.1'`),
      [],
    );
  });
});

/**
 * Polls `path` until its ETag changes, checking on every answer that an equal ETag came
 * with an equal body; returns the last body.
 */
async function pollUntilChanged(path: string, etag: string, body: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const now = await get(t, path);
    if (now.headers.get('etag') !== etag) return now.text;
    expect(now.text).toBe(body);
    if (Date.now() > deadline) throw new Error(`${path}: the ETag did not change`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('rows leaving a feed by time alone', () => {
  it('a decision expiring changes the blocklist ETag, with no write', async () => {
    await pool.query(
      `INSERT INTO crowdsec_decisions (lapi_url, crowdsec_id, origin, type, scope, value, scenario, expires_at)
       VALUES ('http://lapi.test', 900001, 'crowdsec', 'ban', 'Ip', '203.0.113.77', 's', now() + interval '3 seconds')`,
    );
    const first = await get(t, BLOCKLIST_DECISIONS);
    expect(first.text).toContain('203.0.113.77\n');
    const after = await pollUntilChanged(BLOCKLIST_DECISIONS, first.headers.get('etag')!, first.text);
    expect(after).not.toContain('203.0.113.77');
    // Stays put once expired.
    expect(await etagOf(BLOCKLIST_DECISIONS)).toBe(await etagOf(BLOCKLIST_DECISIONS));
  });

  it('a verdict expiring changes the CSV ETag, with no write', async () => {
    await pool.query(
      `INSERT INTO iocs (type, value, risk_score, risk_level, categories, verdict)
       VALUES ('DOMAIN', 'verdict-expiry.example', 99, 'CRITICAL', '{PHISHING}',
               jsonb_build_object('verdict', 'MALICIOUS', 'expiresAt',
                 to_char((now() + interval '3 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))`,
    );
    const path = '/feeds/iocs.csv?minScore=99';
    const first = await get(t, path);
    expect(first.text).toContain(',MALICIOUS,');
    const after = await pollUntilChanged(path, first.headers.get('etag')!, first.text);
    expect(after).toContain('verdict-expiry.example');
    expect(after).not.toContain('MALICIOUS');
  });
});

describe('what a 304 costs', () => {
  it('reads the validator and no row of the feed', async () => {
    const etag = await etagOf(CSV);
    let status = 0;
    const statements = await statementsDuring(async () => {
      status = (await get(t, CSV, t.adminKey, { 'if-none-match': etag })).status;
    });
    expect(status).toBe(304);
    const reads = statements.filter((s) => /\bSELECT\b/i.test(s));
    expect(reads).toEqual([validatorSql(['iocs', 'verdict_expiry'])]);
  });

  it('the validator of every input reads a few rows, whatever the feed size', async () => {
    const sql = validatorSql([
      'iocs',
      'iocs_blocklist',
      'decisions',
      'threat_events',
      'alerts',
      'decision_expiry',
      'verdict_expiry',
    ]);
    const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`);
    interface PlanNode {
      'Relation Name'?: string;
      'Actual Rows': number;
      'Actual Loops': number;
      'Rows Removed by Filter'?: number;
      Plans?: PlanNode[];
    }
    const root = (rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan;
    const scanned: Record<string, number> = {};
    const walk = (n: PlanNode) => {
      if (n['Relation Name'])
        scanned[n['Relation Name']] =
          (scanned[n['Relation Name']] ?? 0) +
          n['Actual Rows'] * n['Actual Loops'] +
          (n['Rows Removed by Filter'] ?? 0);
      for (const c of n.Plans ?? []) walk(c);
    };
    walk(root);
    // 16 counter rows; each expiry at most one index entry (the next one).
    expect(scanned.feed_versions).toBe(16);
    expect(scanned.crowdsec_decisions ?? 0).toBeLessThanOrEqual(1);
    expect(scanned.feed_verdict_expiries ?? 0).toBeLessThanOrEqual(1);
    expect(scanned.iocs).toBeUndefined();
    expect(scanned.threat_events).toBeUndefined();
  });
});
