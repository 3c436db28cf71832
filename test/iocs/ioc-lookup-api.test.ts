/**
 * Indicators as analysts paste them, through the GraphQL API against the fake sources:
 * a defanged URL end to end, a homoglyph look-alike scored with its category, a URL
 * whose credentials never leave the process, and lookupIocs over a mixed list under
 * VirusTotal's public budget of 4 requests a minute.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { IOC_FIELDS, sourceOf, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';

const INPUT_FIELDS = 'unicodeValue lookalikeOf input refanged credentialsRemoved normalizations';

interface LookupJson extends IocJson {
  unicodeValue: string | null;
  lookalikeOf: string | null;
  input: string | null;
  refanged: boolean;
  credentialsRemoved: boolean;
  normalizations: string[];
}

interface EntryJson {
  index: number;
  input: string;
  ioc: LookupJson | null;
  error: { code: string; message: string } | null;
  duplicateOf: number | null;
}

const LOOKUP = `query($v: String!) { lookupIoc(value: $v) { ${IOC_FIELDS} ${INPUT_FIELDS} } }`;
const LOOKUP_MANY = `query($vs: [String!]!, $refresh: Boolean) {
  lookupIocs(values: $vs, refresh: $refresh) {
    index input duplicateOf error { code message } ioc { ${IOC_FIELDS} ${INPUT_FIELDS} }
  }
}`;

let fakes: Fakes;
let t: TestApp;

beforeAll(async () => {
  fakes = await startFakes();
  t = await startTestApp('ioc_lookup_api', { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '' });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await fakes?.close();
});

async function lookup(app: TestApp, value: string): Promise<LookupJson> {
  const res = await app.gql<{ lookupIoc: LookupJson }>(LOOKUP, { v: value });
  expect(res.errors).toBeUndefined();
  return res.data!.lookupIoc;
}

/** Distinct per call, so every test owns its values. */
let serial = 0;
const fresh = (): string => `${Date.now().toString(36)}${++serial}`;

describe('defanged, look-alike and credential-bearing indicators', () => {
  it('looks up a defanged URL end to end: refanged, reported, and sent upstream in its real form', async () => {
    const name = `evil-${fresh()}`;
    const url = `http://${name}.com/gate.php`;
    fakes.otx.setScenario(url, 'known-bad');
    fakes.vt.setScenario(url, 'known-bad');
    const defanged = `hxxp://${name}[.]com/gate[.]php`;
    const ioc = await lookup(t, defanged);
    expect(ioc).toMatchObject({
      type: 'URL',
      value: url,
      input: defanged,
      refanged: true,
      credentialsRemoved: false,
      normalizations: ['refanged "hxxp" → "http"', 'refanged "[.]" → "." (×2)'],
    });
    // OTX: 4 pulses → 40 + 15·log2(4) = 70, + 10 for a malware family = 80.
    // VirusTotal: (12 + 0.5·2) / 90 engines / 0.10 > 1 → 100. AbuseIPDB has no URLs.
    // (0.56·80 + 0.95·100) / (0.56 + 0.95) = 139.8 / 1.51 = 92.58 → 93.
    expect(ioc.riskScore).toBe(93);
    expect(ioc.riskLevel).toBe('CRITICAL');
    expect(sourceOf(ioc, 'ABUSEIPDB')).toMatchObject({ status: 'SKIPPED', errorKind: 'UNSUPPORTED' });
    expect(fakes.otx.callsFor(url)).toHaveLength(1);
    expect(fakes.vt.callsFor(url)).toHaveLength(1);
    expect(fakes.vt.calls.filter((c) => c.value?.includes('[.]') || c.value?.includes('hxxp'))).toEqual([]);
    // The same IOC asked for plainly is the stored one: no second upstream call.
    const plain = await lookup(t, url);
    expect(plain).toMatchObject({ value: url, refanged: false, normalizations: [], input: url });
    expect(fakes.vt.callsFor(url)).toHaveLength(1);
  });

  it('scores a homoglyph look-alike at least HIGH with PHISHING instead of rejecting it', async () => {
    const label = `gооgle${fresh()}`; // Cyrillic о twice
    const latin = label.replace(/о/g, 'o');
    const punycode = (await lookup(t, `${latin}.com`)).value;
    expect(punycode).toBe(`${latin}.com`);
    const ioc = await lookup(t, `${label}.com`);
    expect(ioc.type).toBe('DOMAIN');
    expect(ioc.value.startsWith('xn--')).toBe(true);
    expect(ioc).toMatchObject({ unicodeValue: `${label}.com`, lookalikeOf: `${latin}.com` });
    // Every source says clean (0) or cannot look domains up: the fused mean is 0, and the
    // look-alike floor (LOOKALIKE_FLOOR = 50) lifts it to 50, HIGH, with PHISHING.
    expect(ioc).toMatchObject({ riskScore: 50, riskLevel: 'HIGH', categories: ['PHISHING'] });
    expect(sourceOf(ioc, 'OTX')).toMatchObject({ status: 'OK', score: 0 });
    expect(sourceOf(ioc, 'VIRUSTOTAL')).toMatchObject({ status: 'OK', score: 0 });
    // The Latin name itself, equally clean everywhere, stays at 0.
    const original = await lookup(t, `${latin}.com`);
    expect(original).toMatchObject({ riskScore: 0, riskLevel: 'LOW', categories: [], lookalikeOf: null });
    // The sources were asked about the punycode name, and the stored IOC keeps the verdict.
    expect(fakes.vt.callsFor(ioc.value)).toHaveLength(1);
    const stored = await t.gql<{ ioc: LookupJson }>(
      `query($v: String!) { ioc(value: $v) { value riskScore categories lookalikeOf unicodeValue refanged input } }`,
      { v: ioc.value },
    );
    expect(stored.data?.ioc).toEqual({
      value: ioc.value,
      riskScore: 50,
      categories: ['PHISHING'],
      lookalikeOf: `${latin}.com`,
      unicodeValue: `${label}.com`,
      refanged: false,
      input: null,
    });
  });

  it('the exact look-alike gооgle.com is flagged as google.com', async () => {
    const ioc = await lookup(t, 'gооgle.com');
    expect(ioc).toMatchObject({
      value: 'xn--ggle-55da.com',
      unicodeValue: 'gооgle.com',
      lookalikeOf: 'google.com',
      categories: ['PHISHING'],
    });
  });

  it('strips credentials from a URL: the fake sources and the database never see them', async () => {
    const host = `evil-${fresh()}.com`;
    const secret = `S3cret-${fresh()}`;
    const user = `analyst${fresh()}`;
    const ioc = await lookup(t, `http://${user}:${secret}@${host}/panel`);
    expect(ioc).toMatchObject({
      type: 'URL',
      value: `http://${host}/panel`,
      input: `http://${user}:***@${host}/panel`,
      credentialsRemoved: true,
      refanged: false,
      normalizations: [`credentials (user:password@) removed: the host is ${host}`],
    });
    expect(fakes.otx.callsFor(`http://${host}/panel`)).toHaveLength(1);
    expect(fakes.vt.callsFor(`http://${host}/panel`)).toHaveLength(1);
    for (const fake of fakes.all) {
      for (const call of fake.calls) {
        // `value` is what the request names after decoding (VirusTotal's base64url id).
        const seen = `${JSON.stringify(call)} ${call.value ?? ''} ${decodeURIComponent(call.path)}`;
        expect(seen).not.toContain(secret);
        expect(seen).not.toContain(user);
      }
    }
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM iocs WHERE value LIKE $1)::int
              + (SELECT count(*) FROM enrichments WHERE data::text LIKE $1 OR raw::text LIKE $1)::int AS n`,
        [`%${secret}%`],
      );
      expect(rows[0]?.n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe('SHA-512 hashes', () => {
  it('stores a SHA-512 lookup without asking any source: each one explains that it cannot look it up', async () => {
    const hash = freshIoc('SHA512').value;
    expect(hash).toMatch(/^[0-9a-f]{128}$/);
    const before = fakes.totalCalls();
    const ioc = await lookup(t, hash.toUpperCase());
    expect(ioc).toMatchObject({
      type: 'SHA512',
      value: hash,
      riskScore: null,
      riskLevel: null,
      categories: [],
      nextEnrichAt: null,
    });
    // AbuseIPDB scores addresses only; VirusTotal's /files and OTX's file section take an
    // MD5, SHA-1 or SHA-256: none of the three is sent a request it cannot answer.
    expect(fakes.totalCalls()).toBe(before);
    expect(ioc.sources.map((s) => [s.source, s.status, s.errorKind, s.error])).toEqual([
      ['ABUSEIPDB', 'SKIPPED', 'UNSUPPORTED', 'ABUSEIPDB does not look up SHA512'],
      ['OTX', 'SKIPPED', 'UNSUPPORTED', 'OTX does not look up SHA512'],
      ['VIRUSTOTAL', 'SKIPPED', 'UNSUPPORTED', 'VIRUSTOTAL does not look up SHA512'],
    ]);
    const stored = await t.gql<{
      ioc: { type: string; value: string; enrichments: { totalCount: number } };
      iocs: { edges: { node: { value: string } }[] };
    }>(
      `query($v: String!) {
        ioc(value: $v) { type value enrichments { totalCount } }
        iocs(filter: { type: SHA512, valuePrefix: $v }) { edges { node { value } } }
      }`,
      { v: hash },
    );
    expect(stored.errors).toBeUndefined();
    // Skips are not fetches: no history rows.
    expect(stored.data).toEqual({
      ioc: { type: 'SHA512', value: hash, enrichments: { totalCount: 0 } },
      iocs: { edges: [{ node: { value: hash } }] },
    });
    // Asked again: the stored skips answer, still without a request.
    await lookup(t, hash);
    expect(fakes.totalCalls()).toBe(before);
  });
});

describe('lookupIocs', () => {
  it('refuses more than IOC_LOOKUP_MAX (default 100) values as a whole, before any lookup', async () => {
    const before = fakes.totalCalls();
    const values = Array.from({ length: 101 }, () => freshIoc('IPV4').value);
    const res = await t.gql<{ lookupIocs: EntryJson[] }>(LOOKUP_MANY, { vs: values });
    expect(res.data?.lookupIocs ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'values',
      limit: 100,
    });
    expect(res.errors?.[0]?.message).toBe('values takes at most 100 items (got 101)');
    expect(fakes.totalCalls()).toBe(before);
    const hundred = await t.gql<{ lookupIocs: EntryJson[] }>(LOOKUP_MANY, { vs: values.slice(0, 100) });
    expect(hundred.errors).toBeUndefined();
    expect(hundred.data!.lookupIocs).toHaveLength(100);
  }, 60_000);

  it('with debug, shows each source raw body on every entry, duplicates included', async () => {
    const ip = freshIoc('IPV4').value;
    const res = await t.gql<{
      lookupIocs: { ioc: { value: string; sources: { source: string; raw: unknown }[] } }[];
    }>(
      `query($vs: [String!]!) { lookupIocs(values: $vs, debug: true) { ioc { value sources { source raw } } } }`,
      { vs: [ip, ip.replace(/\./g, '(.)')] },
    );
    expect(res.errors).toBeUndefined();
    for (const entry of res.data!.lookupIocs) {
      expect(entry.ioc.value).toBe(ip);
      expect(entry.ioc.sources.map((s) => [s.source, s.raw === null ? 'null' : typeof s.raw])).toEqual([
        ['ABUSEIPDB', 'object'],
        ['OTX', 'object'],
        ['VIRUSTOTAL', 'object'],
      ]);
    }
    for (const fake of fakes.all) expect(fake.callsFor(ip)).toHaveLength(1);
  });

  it('needs ANALYST for refresh, like lookupIoc', async () => {
    const created = await t.gql<{ createApiKey: { secret: string } }>(
      `mutation($n: String!) { createApiKey(name: $n, role: READER) { secret } }`,
      { n: `reader-${fresh()}` },
    );
    const reader = created.data!.createApiKey.secret;
    const res = await t.gql(LOOKUP_MANY, { vs: [freshIoc('IPV4').value], refresh: true }, reader);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('answers a mixed list in order under a 4/min VirusTotal budget: errors per item, duplicates once, cached at once, the rest deferred', async () => {
    const own = await startFakes();
    const app = await startTestApp('ioc_lookup_bulk', { ...own.env, VIRUSTOTAL_RATE_LIMITS: '4/60' });
    try {
      const [cached, a, b, c, d] = Array.from({ length: 5 }, () => freshIoc('IPV4').value) as [
        string,
        string,
        string,
        string,
        string,
      ];
      // Spends 1 of VirusTotal's 4 requests this minute and leaves a fresh stored answer.
      expect(sourceOf(await lookup(app, cached), 'VIRUSTOTAL')?.status).toBe('OK');
      const values = [
        cached, // 0: fresh in the store, no source asked again
        a, //      1
        'not an ioc', // 2: error
        b.replace(/\./g, '[.]'), // 3: defanged b
        ` ${a}\n`, // 4: duplicate of 1
        '10.0.0.7', // 5: private, never sent upstream
        c, //      6
        'evil..com', // 7: error
        d, //      8: VirusTotal budget spent (cached, a, b, c) → deferred
        b, //      9: duplicate of 3
      ];
      const res = await app.gql<{ lookupIocs: EntryJson[] }>(LOOKUP_MANY, { vs: values });
      expect(res.errors).toBeUndefined();
      const entries = res.data!.lookupIocs;
      expect(
        entries.map((e) => [e.index, e.ioc?.value ?? null, e.error?.code ?? null, e.duplicateOf]),
      ).toEqual([
        [0, cached, null, null],
        [1, a, null, null],
        [2, null, 'BAD_USER_INPUT', null],
        [3, b, null, null],
        [4, a, null, 1],
        [5, '10.0.0.7', null, null],
        [6, c, null, null],
        [7, null, 'BAD_USER_INPUT', null],
        [8, d, null, null],
        [9, b, null, 3],
      ]);
      expect(entries.map((e) => e.input)).toEqual(values.map((v) => v.trim()));
      expect(entries[2]?.error?.message).toBe('"not an ioc" contains whitespace');
      expect(entries[7]?.error?.message).toBe('"evil..com" is not a domain name: it has an empty label');
      expect(entries[3]?.ioc).toMatchObject({
        refanged: true,
        normalizations: ['refanged "[.]" → "." (×3)'],
      });
      expect(entries[9]?.ioc).toMatchObject({ refanged: false, normalizations: [] });

      const vt = (i: number) => sourceOf(entries[i]!.ioc!, 'VIRUSTOTAL');
      for (const i of [0, 1, 3, 4, 6, 9]) expect(vt(i)).toMatchObject({ status: 'OK', deferred: false });
      expect(vt(8)).toMatchObject({ status: 'SKIPPED', errorKind: 'QUOTA_DEFERRED', deferred: true });
      expect(vt(8)?.retryAt).not.toBeNull();
      expect(entries[8]?.ioc?.nextEnrichAt).not.toBeNull();
      for (const i of [0, 1, 3, 6, 8]) {
        expect(sourceOf(entries[i]!.ioc!, 'ABUSEIPDB')?.status).toBe('OK');
        expect(sourceOf(entries[i]!.ioc!, 'OTX')?.status).toBe('OK');
      }
      for (const s of entries[5]!.ioc!.sources)
        expect(s).toMatchObject({ status: 'SKIPPED', errorKind: 'NOT_ROUTABLE' });

      // Exactly one request per distinct routable IP per source; VirusTotal's fifth is held back.
      expect(own.vt.calls.map((call) => call.value)).toEqual([cached, a, b, c]);
      expect(own.abuse.calls.map((call) => call.value).sort()).toEqual([cached, a, b, c, d].sort());
      expect(own.otx.calls.map((call) => call.value).sort()).toEqual([cached, a, b, c, d].sort());
    } finally {
      await app.stop();
      await own.close();
    }
  }, 60_000);
});
