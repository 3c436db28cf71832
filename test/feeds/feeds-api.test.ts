/**
 * The feeds over HTTP, on one database seeded once and never changed by a test:
 * CrowdSec decisions written as the poller writes them, IOCs scored through the fake
 * sources (known-bad everywhere: (0.9·100 + 0.56·80 + 0.95·100) / 2.41 = 95.35 → 95;
 * AbuseIPDB whitelisted: capped at 20), and one threat event that sights an IOC.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { v5 as uuidv5 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakes, type Fakes } from '../iocs/ioc-harness.js';
import { freshIoc } from '../iocs/ioc-samples.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createKey, get, revokeKey, seedDecisions } from './feed-fixtures.js';
import { validateBundle } from './stix-schemas.js';
import { testPool } from '../helpers/test-pool.js';

/** The STIX namespace docs/api.md documents for threatwire ids. */
const NAMESPACE = '6f1d2b3a-9c4e-5a7b-8d2e-4f6a1c3b5e7d';
const DAY_MS = 86_400_000;

let fakes: Fakes;
let t: TestApp;
let pool: pg.Pool;

interface StoredIoc {
  id: string;
  value: string;
  type: string;
  riskScore: number | null;
  riskLevel: string | null;
  categories: string[];
  firstSeenAt: string;
  lastEnrichedAt: string | null;
}

const ioc = {} as Record<'badV4' | 'benignV4' | 'badV6' | 'domain', StoredIoc>;
const SIGHTED_AT = new Date(Date.now() - 3_600_000);
SIGHTED_AT.setUTCMilliseconds(0);

async function lookup(value: string): Promise<StoredIoc> {
  const res = await t.gql<{ lookupIoc: StoredIoc }>(
    `query($v: String!) { lookupIoc(value: $v) { id value type riskScore riskLevel categories firstSeenAt lastEnrichedAt } }`,
    { v: value },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.lookupIoc;
}

function scenario(value: string, abuse: string, rest: string) {
  fakes.abuse.setScenario(value, abuse as never);
  fakes.otx.setScenario(value, rest as never);
  fakes.vt.setScenario(value, rest as never);
}

beforeAll(async () => {
  fakes = await startFakes();
  t = await startTestApp('feeds_api', { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '' });
  pool = testPool(t.databaseUrl, { max: 1 });
  await seedDecisions(pool, [
    { value: '203.0.113.7' },
    { value: '198.51.100.0/24', scope: 'Range' },
    { value: '2001:db8::5' },
    { value: '203.0.113.7' }, // the same address from a second decision: listed once
    { value: '192.0.2.44', type: 'Ban', scope: 'ip' }, // type and scope compare case-insensitively
    { value: '203.0.113.8', expiresIn: -60 }, // expired
    { value: '203.0.113.9', deleted: true },
    { value: '203.0.113.10', simulated: true },
    { value: '203.0.113.11', type: 'captcha' },
    { value: 'FR', scope: 'Country' },
    { value: 'not-an-address' },
  ]);
  const values = {
    badV4: freshIoc('IPV4').value,
    benignV4: freshIoc('IPV4').value,
    badV6: freshIoc('IPV6').value,
    domain: freshIoc('DOMAIN').value,
  };
  scenario(values.badV4, 'known-bad', 'known-bad');
  scenario(values.benignV4, 'whitelisted', 'known-bad');
  scenario(values.badV6, 'known-bad', 'known-bad');
  scenario(values.domain, 'known-bad', 'known-bad');
  for (const k of Object.keys(values) as (keyof typeof values)[]) ioc[k] = await lookup(values[k]);
  const ingest = await t.gql(`mutation($in: ThreatEventInput!) { ingestThreatEvent(input: $in) { id } }`, {
    in: {
      sourceIp: values.badV4,
      threatType: 'ssh-bruteforce',
      severity: 7,
      occurredAt: SIGHTED_AT.toISOString(),
    },
  });
  expect(ingest.errors).toBeUndefined();
}, 90_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
  await fakes?.close();
});

/** The fixture's scores, worked out by hand (header comment). */
it('scored the fixture IOCs as docs/scoring.md says', () => {
  expect([ioc.badV4.riskScore, ioc.badV4.riskLevel]).toEqual([95, 'CRITICAL']);
  expect([ioc.badV6.riskScore, ioc.badV6.riskLevel]).toEqual([95, 'CRITICAL']);
  expect([ioc.benignV4.riskScore, ioc.benignV4.riskLevel]).toEqual([20, 'LOW']);
});

const lines = (text: string) => text.split('\n').slice(0, -1);
/** Byte order, IPv4 first: the order the blocklist documents. */
const blockOrder = (values: string[]) =>
  [...values].sort(
    (a, b) => Number(a.includes(':')) - Number(b.includes(':')) || (a < b ? -1 : a > b ? 1 : 0),
  );

describe('GET /feeds/blocklist.txt', () => {
  const decisions = ['192.0.2.44', '198.51.100.0/24', '203.0.113.7', '2001:db8::5'];

  it('lists active ban decisions on addresses and ranges, once each, IPv4 first', async () => {
    const res = await get(t, '/feeds/blocklist.txt?source=decisions');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe(decisions.join('\n') + '\n');
  });

  it('lists IOC addresses at or above minScore (default 75)', async () => {
    expect((await get(t, '/feeds/blocklist.txt?source=iocs')).text).toBe(
      blockOrder([ioc.badV4.value, ioc.badV6.value]).join('\n') + '\n',
    );
    expect((await get(t, '/feeds/blocklist.txt?source=iocs&minScore=20')).text).toBe(
      blockOrder([ioc.badV4.value, ioc.benignV4.value, ioc.badV6.value]).join('\n') + '\n',
    );
  });

  it('by default serves both, and every line is an address or a CIDR block (node:net)', async () => {
    const res = await get(t, '/feeds/blocklist.txt');
    const expected = blockOrder([...decisions, ioc.badV4.value, ioc.badV6.value]);
    expect(lines(res.text)).toEqual(expected);
    for (const line of lines(res.text)) {
      const [addr, prefix] = line.split('/');
      const family = isIP(addr!);
      expect(family).not.toBe(0);
      if (prefix !== undefined) expect(Number(prefix)).toBeLessThanOrEqual(family === 4 ? 32 : 128);
    }
  });

  it('format=ipset: `ipset restore` input that fills a staging set and swaps it in', async () => {
    const res = await get(t, '/feeds/blocklist.txt?source=decisions&format=ipset&set=edge_block');
    expect(res.text).toBe(
      [
        'create edge_block-new hash:net family inet maxelem 65536 -exist',
        'flush edge_block-new',
        'add edge_block-new 192.0.2.44',
        'add edge_block-new 198.51.100.0/24',
        'add edge_block-new 203.0.113.7',
        'create edge_block hash:net family inet maxelem 65536 -exist',
        'swap edge_block-new edge_block',
        'destroy edge_block-new',
        '',
      ].join('\n'),
    );
    const v6 = await get(t, '/feeds/blocklist.txt?source=decisions&format=ipset&family=6');
    expect(lines(v6.text).filter((l) => l.startsWith('add '))).toEqual(['add threatwire-new 2001:db8::5']);
    expect(lines(v6.text)[0]).toBe('create threatwire-new hash:net family inet6 maxelem 65536 -exist');
  });

  it('format=nft: an nftables script with one set per family', async () => {
    const res = await get(t, '/feeds/blocklist.txt?source=decisions&format=nft');
    expect(res.text).toBe(
      [
        'add table inet threatwire',
        'add set inet threatwire blocklist_v4 { type ipv4_addr; flags interval; auto-merge; }',
        'flush set inet threatwire blocklist_v4',
        'add set inet threatwire blocklist_v6 { type ipv6_addr; flags interval; auto-merge; }',
        'flush set inet threatwire blocklist_v6',
        'add element inet threatwire blocklist_v4 { 192.0.2.44, 198.51.100.0/24, 203.0.113.7 }',
        'add element inet threatwire blocklist_v6 { 2001:db8::5 }',
        '',
      ].join('\n'),
    );
  });

  const nft = (() => {
    try {
      execFileSync('nft', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(nft)('format=nft is accepted by `nft -c -f` (nftables checks the script)', async () => {
    const res = await get(t, '/feeds/blocklist.txt?format=nft');
    const file = join(mkdtempSync(join(tmpdir(), 'tw-nft-')), 'blocklist.nft');
    writeFileSync(file, res.text);
    expect(() => execFileSync('nft', ['-c', '-f', file], { stdio: 'pipe' })).not.toThrow();
    // The checker is strict: a bad address fails it.
    writeFileSync(file, res.text.replace('192.0.2.44', '192.0.2.444'));
    expect(() => execFileSync('nft', ['-c', '-f', file], { stdio: 'pipe' })).toThrow();
  });
});

describe('ETag and If-None-Match', () => {
  it('answers 304 with no body for the ETag it gave, and 200 for another', async () => {
    const first = await get(t, '/feeds/blocklist.txt');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    const again = await get(t, '/feeds/blocklist.txt');
    expect(again.headers.get('etag')).toBe(etag);
    const cached = await get(t, '/feeds/blocklist.txt', t.adminKey, { 'if-none-match': etag });
    expect([cached.status, cached.text, cached.headers.get('etag')]).toEqual([304, '', etag]);
    const weak = await get(t, '/feeds/blocklist.txt', t.adminKey, { 'if-none-match': `"x", W/${etag}` });
    expect(weak.status).toBe(304);
    const stale = await get(t, '/feeds/blocklist.txt', t.adminKey, { 'if-none-match': '"not-it"' });
    expect([stale.status, stale.text]).toEqual([200, first.text]);
  });

  it('gives each set of parameters its own ETag', async () => {
    const a = (await get(t, '/feeds/blocklist.txt')).headers.get('etag');
    const b = (await get(t, '/feeds/blocklist.txt?format=ipset')).headers.get('etag');
    const c = (await get(t, '/feeds/iocs.csv')).headers.get('etag');
    expect(new Set([a, b, c]).size).toBe(3);
  });
});

describe('HEAD and concurrency', () => {
  it('answers HEAD with the ETag and no body, and holds no feed open afterwards', async () => {
    const etag = (await get(t, '/feeds/blocklist.txt')).headers.get('etag');
    // More HEAD requests than feeds may stream at once (4): each must release its snapshot.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(new URL('/feeds/blocklist.txt', t.origin), {
        method: 'HEAD',
        headers: { authorization: `Bearer ${t.adminKey}` },
      });
      expect([res.status, res.headers.get('etag'), await res.text()]).toEqual([200, etag, '']);
    }
    expect((await get(t, '/feeds/blocklist.txt')).status).toBe(200);
  });
});

describe('authentication', () => {
  it('refuses a request without a key or with a revoked one (401, JSON)', async () => {
    for (const path of ['/feeds/blocklist.txt', '/feeds/iocs.csv', '/feeds/stix']) {
      const none = await get(t, path, null);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(JSON.parse(none.text)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
    const reader = await createKey(t, 'READER');
    expect((await get(t, '/feeds/blocklist.txt', reader.secret)).status).toBe(200);
    await revokeKey(t, reader.id);
    const revoked = await get(t, '/feeds/blocklist.txt', reader.secret);
    expect(revoked.status).toBe(401);
    expect(JSON.parse(revoked.text)).toEqual({
      error: { code: 'UNAUTHENTICATED', message: 'This API key has been revoked' },
    });
  });

  it('accepts the key in X-API-Key too', async () => {
    const res = await get(t, '/feeds/blocklist.txt?source=decisions', null, { 'x-api-key': t.adminKey });
    expect(res.status).toBe(200);
  });
});

describe('bounded parameters', () => {
  it.each([
    ['/feeds/blocklist.txt?minScore=101', 'minScore'],
    ['/feeds/blocklist.txt?minScore=-1', 'minScore'],
    ['/feeds/blocklist.txt?format=xml', 'format'],
    ['/feeds/blocklist.txt?source=x', 'source'],
    ['/feeds/blocklist.txt?set=bad%20name', 'set'],
    ['/feeds/blocklist.txt?family=5', 'family'],
    ['/feeds/blocklist.txt?type=' + 'x'.repeat(65), 'type'],
    ['/feeds/blocklist.txt?minScore=1&minScore=2', 'minScore'],
    ['/feeds/blocklist.txt?colour=red', 'colour'],
    ['/feeds/iocs.csv?types=IPV4,FOO', 'types'],
    ['/feeds/stix?sightings=maybe', 'sightings'],
  ])('%s → 400 naming %s', async (path, parameter) => {
    const res = await get(t, path);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'BAD_USER_INPUT', parameter } });
  });
});

describe('GET /feeds/iocs.csv', () => {
  /** Newest first, the id breaking ties (as the feed documents). */
  const newestFirst = (list: StoredIoc[]) =>
    [...list].sort((a, b) => b.firstSeenAt.localeCompare(a.firstSeenAt) || (a.id < b.id ? 1 : -1));
  const row = (i: StoredIoc) =>
    [
      i.value,
      i.type,
      i.riskScore,
      i.riskLevel,
      i.categories.join(';'),
      'ABUSEIPDB;OTX;VIRUSTOTAL',
      '',
      i.firstSeenAt,
      i.lastEnrichedAt,
    ].join(',');

  it('has a header and one RFC 4180 line (CRLF) per IOC at or above minScore, newest first', async () => {
    const res = await get(t, '/feeds/iocs.csv?types=ipv4,IPV6');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    const header =
      'value,type,risk_score,risk_level,categories,sources,verdict,first_seen_at,last_enriched_at';
    expect(res.text).toBe([header, ...newestFirst([ioc.badV4, ioc.badV6]).map(row), ''].join('\r\n'));
  });
});

describe('GET /feeds/stix', () => {
  interface Bundle {
    type: string;
    id: string;
    objects: Record<string, unknown>[];
  }

  it('is a bundle the OASIS STIX 2.1 schemas accept', async () => {
    const res = await get(t, '/feeds/stix?minScore=0');
    expect(res.headers.get('content-type')).toBe('application/stix+json; version=2.1');
    const bundle = JSON.parse(res.text) as Bundle;
    expect(validateBundle(bundle)).toEqual([]);
    // identity + 4 indicators + 1 sighting
    expect(bundle.objects.map((o) => o.type).sort()).toEqual([
      'identity',
      'indicator',
      'indicator',
      'indicator',
      'indicator',
      'sighting',
    ]);
  });

  it('maps an IOC to an indicator with a stable id, pattern, confidence, labels and references', async () => {
    const first = JSON.parse((await get(t, '/feeds/stix?types=IPV4')).text) as Bundle;
    const again = JSON.parse((await get(t, '/feeds/stix?types=IPV4')).text) as Bundle;
    expect(again.id).toBe(first.id);
    const v = ioc.badV4.value;
    const identity = `identity--${uuidv5('identity:threatwire', NAMESPACE)}`;
    const indicatorId = `indicator--${uuidv5(`ioc:IPV4:${v}`, NAMESPACE)}`;
    const modified = ioc.badV4.lastEnrichedAt!;
    expect(first.objects).toEqual([
      {
        type: 'identity',
        spec_version: '2.1',
        id: identity,
        created: '2026-01-01T00:00:00.000Z',
        modified: '2026-01-01T00:00:00.000Z',
        name: 'threatwire',
        identity_class: 'system',
      },
      {
        type: 'indicator',
        spec_version: '2.1',
        id: indicatorId,
        created_by_ref: identity,
        created: ioc.badV4.firstSeenAt,
        modified,
        name: v,
        indicator_types: ['malicious-activity'],
        pattern: `[ipv4-addr:value = '${v}']`,
        pattern_type: 'stix',
        pattern_version: '2.1',
        valid_from: ioc.badV4.firstSeenAt,
        valid_until: new Date(Date.parse(modified) + 30 * DAY_MS).toISOString(),
        confidence: 95,
        labels: ioc.badV4.categories.map((c) => c.toLowerCase()),
        description: 'threatwire risk 95 (CRITICAL)',
        external_references: [
          { source_name: 'AbuseIPDB', url: `https://www.abuseipdb.com/check/${v}` },
          { source_name: 'AlienVault OTX', url: `https://otx.alienvault.com/indicator/ip/${v}` },
          { source_name: 'VirusTotal', url: `https://www.virustotal.com/gui/ip-address/${v}` },
        ],
      },
      {
        type: 'sighting',
        spec_version: '2.1',
        id: `sighting--${uuidv5(`sighting:IPV4:${v}`, NAMESPACE)}`,
        created_by_ref: identity,
        created: SIGHTED_AT.toISOString(),
        modified: SIGHTED_AT.toISOString(),
        first_seen: SIGHTED_AT.toISOString(),
        last_seen: SIGHTED_AT.toISOString(),
        count: 1,
        sighting_of_ref: indicatorId,
        where_sighted_refs: [identity],
      },
    ]);
    expect(ioc.badV4.categories.length).toBeGreaterThan(0);
  });

  it('leaves sightings out with sightings=false', async () => {
    const bundle = JSON.parse((await get(t, '/feeds/stix?types=IPV4&sightings=false')).text) as Bundle;
    expect(bundle.objects.map((o) => o.type)).toEqual(['identity', 'indicator']);
  });
});
