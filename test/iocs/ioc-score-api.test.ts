/**
 * The fused score through the API with numbers worked out by hand from docs/scoring.md
 * (weights × reliability: AbuseIPDB 0.9, OTX 0.56, VirusTotal 0.95; half-life 30 days;
 * known-benign cap 20), so a change to decay, rounding or the cap shows up as a red test.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { IOC_FIELDS, startFakes, type Fakes, type IocJson } from './ioc-harness.js';
import { freshIoc } from './ioc-samples.js';
import { testPool } from '../helpers/test-pool.js';

let fakes: Fakes;
let t: TestApp;
let pool: pg.Pool;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  fakes = await startFakes();
  // A year-long TTL: a seeded answer from 30 days ago is still served, and decays.
  t = await startTestApp('ioc_score_api', {
    ...fakes.env,
    VIRUSTOTAL_RATE_LIMITS: '',
    IOC_TTL_OK_SECONDS: String(365 * 86_400),
  });
  pool = testPool(t.databaseUrl, { max: 1 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
  await fakes?.close();
});

const LOOKUP = `query($v: String!) { lookupIoc(value: $v) { ${IOC_FIELDS} } }`;

async function lookup(value: string): Promise<IocJson> {
  const res = await t.gql<{ lookupIoc: IocJson }>(LOOKUP, { v: value });
  expect(res.errors).toBeUndefined();
  return res.data!.lookupIoc;
}

const contributions = (ioc: IocJson) => ioc.scoreBreakdown.map((c) => [c.source, c.contribution]);

function ipWith(abuse: string, otx: string, vt: string): string {
  const ip = freshIoc('IPV4').value;
  fakes.abuse.setScenario(ip, abuse as never);
  fakes.otx.setScenario(ip, otx as never);
  fakes.vt.setScenario(ip, vt as never);
  return ip;
}

describe('fused score through lookupIoc', () => {
  it('known-bad everywhere: (0.9·100 + 0.56·80 + 0.95·100) / 2.41 = 95.35 → 95, CRITICAL', async () => {
    const ioc = await lookup(ipWith('known-bad', 'known-bad', 'known-bad'));
    expect(ioc.riskScore).toBe(95);
    expect(ioc.riskLevel).toBe('CRITICAL');
    expect(contributions(ioc)).toEqual([
      ['ABUSEIPDB', 37.34],
      ['OTX', 18.59],
      ['VIRUSTOTAL', 39.42],
    ]);
  });

  it('caps at 20 when OTX lists the value as known-benign, fresh and from the cache', async () => {
    // Uncapped: (0.9·100 + 0.56·40 + 0.95·100) / 2.41 = 86.06.
    const ip = ipWith('known-bad', 'whitelisted', 'known-bad');
    const ioc = await lookup(ip);
    expect([ioc.riskScore, ioc.riskLevel]).toEqual([20, 'LOW']);
    expect(contributions(ioc)).toEqual([
      ['ABUSEIPDB', 37.34],
      ['OTX', 9.29],
      ['VIRUSTOTAL', 39.42],
    ]);
    expect(ioc.scoreBreakdown[1]?.note).toBe(
      'sub-score 40; listed as known-benign: fused score capped at 20',
    );
    const cached = await lookup(ip);
    expect([cached.riskScore, cached.riskLevel]).toEqual([20, 'LOW']);
    for (const f of fakes.all) expect(f.callsFor(ip)).toHaveLength(1);
  });

  it('caps at 20 when AbuseIPDB lists the address as whitelisted', async () => {
    // Uncapped: (0.9·0 + 0.56·80 + 0.95·100) / 2.41 = 58.01.
    const ioc = await lookup(ipWith('whitelisted', 'known-bad', 'known-bad'));
    expect([ioc.riskScore, ioc.riskLevel]).toEqual([20, 'LOW']);
    expect(contributions(ioc)).toEqual([
      ['ABUSEIPDB', 0],
      ['OTX', 18.59],
      ['VIRUSTOTAL', 39.42],
    ]);
  });

  it('decays a 30-day-old answer by half: 0.9·(80·½) / 2.41 = 14.94 → 15, LOW', async () => {
    const ip = ipWith('known-bad', 'clean', 'clean');
    const fetchedAt = new Date(Date.now() - 30 * DAY_MS).toISOString();
    const seeded = { status: 'OK', score: 80, categories: [], data: {}, durationMs: 5, fetchedAt };
    await pool.query(`INSERT INTO iocs (type, value, sources) VALUES ('IPV4', $1, $2)`, [
      ip,
      JSON.stringify({ ABUSEIPDB: seeded }),
    ]);
    const ioc = await lookup(ip);
    // Only the missing sources were asked; the stored AbuseIPDB answer counts, decayed.
    expect(fakes.abuse.callsFor(ip)).toHaveLength(0);
    expect(fakes.otx.callsFor(ip)).toHaveLength(1);
    expect(fakes.vt.callsFor(ip)).toHaveLength(1);
    // Undecayed it would be 72 / 2.41 = 29.88 → 30, MEDIUM.
    expect([ioc.riskScore, ioc.riskLevel]).toEqual([15, 'LOW']);
    expect(contributions(ioc)).toEqual([
      ['ABUSEIPDB', 14.94],
      ['OTX', 0],
      ['VIRUSTOTAL', 0],
    ]);
    expect(ioc.scoreBreakdown[0]?.note).toBe('sub-score 80; decayed to 40 (data 30 d old, half-life 30 d)');
  });
});
