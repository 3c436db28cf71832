/**
 * Allowlist CIDR entries against stored IOCs. Through the API: adding an entry caps the
 * IPv4 and IPv6 IOCs and the address-host URLs inside it at once (and no neighbour
 * outside), a host entry (/32) covers that address only, and removing the entry gives
 * the vendors' score back. Through the repository on 100,000 IOCs: the coverage query
 * of a /24 is an index scan of iocs_host_ip_idx (EXPLAIN), never a scan of the table, and
 * finds exactly the IOCs inside it.
 *
 * Expected scores (docs/scoring.md): AbuseIPDB known-bad 100, OTX and VirusTotal clean:
 * (0.90 × 100) / (0.90 + 0.56 + 0.95) = 37.34 → 37; under an entry min(37, 10) = 10.
 */
import { randomInt } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CurationRepository } from '../../src/iocs/curation-repository.js';
import { IocRepository } from '../../src/iocs/ioc-repository.js';
import { migrate } from '../../src/platform/db-migrator.js';
import { createLogger } from '../../src/platform/logger.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { startFakes, type Fakes } from './ioc-harness.js';
import { testPool } from '../helpers/test-pool.js';

describe('CIDR entries through the API', () => {
  let fakes: Fakes;
  let t: TestApp;
  beforeAll(async () => {
    fakes = await startFakes();
    t = await startTestApp('allowlist_cidr', { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '' });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await fakes?.close();
  });

  async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await t.gql<T>(query, variables);
    expect(res.errors).toBeUndefined();
    return res.data!;
  }
  interface Seen {
    value: string;
    riskScore: number | null;
    allowlistedBy: { value: string } | null;
  }
  /** The stored IOCs as `ioc` serves them: score and covering entry. */
  const read = async (values: string[]): Promise<Record<string, [number | null, string | null]>> => {
    const out: Record<string, [number | null, string | null]> = {};
    for (const v of values) {
      const d = await ok<{ ioc: Seen }>(
        `query($v: String!) { ioc(value: $v) { value riskScore allowlistedBy { value } } }`,
        { v },
      );
      out[v] = [d.ioc.riskScore, d.ioc.allowlistedBy?.value ?? null];
    }
    return out;
  };

  it('covers IPv4, IPv6 and address URLs inside the block only, host entries only their address, and lets go on removal', async () => {
    const a = randomInt(1, 255);
    const b = randomInt(0, 255);
    const net = `47.${a}.${b}.`;
    const outside = `47.${a}.${b + 1}.10`;
    const v6 = `2a01:4f8:${randomInt(1, 0xffff).toString(16)}:7::`;
    const v6out = v6.replace(/:7::$/, ':8::5');
    const ips = [`${net}10`, `${net}12`, `${net}13`, outside, `${v6}5`, v6out];
    for (const ip of ips) fakes.abuse.setScenario(ip, 'known-bad');
    for (const ip of ips) {
      const d = await ok<{ lookupIoc: { riskScore: number } }>(
        `query($v: String!) { lookupIoc(value: $v) { riskScore } }`,
        { v: ip },
      );
      expect(d.lookupIoc.riskScore).toBe(37);
    }
    const urls = [`http://${net}11/login`, `https://[${v6}6]:8443/x`, `http://${outside}/y`];
    // Registered (tagging stores a value without a lookup): the URLs' score is null.
    for (const u of urls)
      await ok(`mutation($v: String!) { tagIoc(value: $v, tags: ["t"]) { value } }`, { v: u });
    const all = [...ips, ...urls];
    const before = await read(all);
    expect(Object.values(before).every(([, by]) => by === null)).toBe(true);

    const add = (v: string) => ok(`mutation($v: String!) { addAllowlistEntry(value: $v) { value } }`, { v });
    await add(`${net}0/24`);
    await add(`${v6}/64`);
    await add(`${net}12`);
    expect(await read(all)).toEqual({
      [`${net}10`]: [10, `${net}0/24`],
      // The narrowest entry is named.
      [`${net}12`]: [10, `${net}12/32`],
      [`${net}13`]: [10, `${net}0/24`],
      [outside]: [37, null],
      [`${v6}5`]: [10, `${v6}/64`],
      [v6out]: [37, null],
      // min(null, 10) is 0 (docs/scoring.md §7: "score = min(score ?? 0, 10)").
      [urls[0]!]: [0, `${net}0/24`],
      [urls[1]!]: [0, `${v6}/64`],
      [urls[2]!]: [null, null],
    });

    await ok(`mutation($v: String!) { removeAllowlistEntry(value: $v) }`, { v: `${net}0/24` });
    await ok(`mutation($v: String!) { removeAllowlistEntry(value: $v) }`, { v: `${v6}/64` });
    expect(await read(all)).toEqual({
      [`${net}10`]: [37, null],
      [`${net}12`]: [10, `${net}12/32`],
      [`${net}13`]: [37, null],
      [outside]: [37, null],
      [`${v6}5`]: [37, null],
      [v6out]: [37, null],
      [urls[0]!]: [null, null],
      [urls[1]!]: [null, null],
      [urls[2]!]: [null, null],
    });
  }, 60_000);
});

describe('CIDR coverage on 100,000 IOCs', () => {
  const COUNT = 100_000;
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('allowlist_cidr_index');
    pool = testPool(db.url, { max: 4 });
    await migrate(pool, { logger: createLogger({ log: { level: 'silent', pretty: false } }) });
    // Registered as the service does (IocRepository.registerMany): IPv4 addresses in
    // 20.0.0.0/15, IPv6 addresses, domains, and URLs on 20.0.0.0/15 addresses.
    const repo = new IocRepository(pool);
    const iocs = Array.from({ length: COUNT }, (_, i) => {
      const quad = `20.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      switch (i % 5) {
        case 0:
        case 1:
          return { type: 'IPV4' as const, value: quad, routable: true };
        case 2:
          return {
            type: 'IPV6' as const,
            value: `2a01:4f8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
            routable: true,
          };
        case 3:
          return { type: 'DOMAIN' as const, value: `host${i}.example.net`, routable: true };
        default:
          return { type: 'URL' as const, value: `http://${quad}/p`, routable: true };
      }
    });
    for (let at = 0; at < COUNT; at += 10_000) await repo.registerMany(iocs.slice(at, at + 10_000), false);
    await pool.query('ANALYZE iocs');
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('a /24 is an index scan of iocs_host_ip_idx and finds exactly the IOCs inside it', async () => {
    const statements: pg.QueryConfig[] = [];
    const spy = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop === 'query')
          return (config: pg.QueryConfig) => {
            statements.push(config);
            return target.query(config);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const repo = new CurationRepository(spy);
    const entry = { id: '00000000-0000-4000-8000-000000000001', kind: 'CIDR' as const, value: '20.0.7.0/24' };
    const ids = await repo.candidates(entry);
    // 20.0.7.x is i = 1792 + x: IPv4 when i % 5 is 0 or 1, a URL on it when i % 5 is 4.
    const expected: string[] = [];
    for (let x = 0; x < 256; x++) {
      const i = 1792 + x;
      if (i % 5 === 0 || i % 5 === 1) expected.push(`20.0.7.${x}`);
      if (i % 5 === 4) expected.push(`http://20.0.7.${x}/p`);
    }
    const { rows } = await pool.query<{ value: string }>(
      'SELECT value FROM iocs WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(rows.map((r) => r.value).sort()).toEqual(expected.sort());

    expect(statements).toHaveLength(1);
    const s = statements[0]!;
    const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${s.text}`, s.values);
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index (Only )?Scan using iocs_host_ip_idx|Bitmap Index Scan on iocs_host_ip_idx/);
    expect(text).toMatch(
      /Bitmap Index Scan on iocs_allowlisted_by_idx|Index Scan using iocs_allowlisted_by_idx/,
    );
    expect(text).not.toMatch(/Seq Scan/);
  }, 60_000);
});
