/** Vendor-specific mappings the generic contract cannot know: routes, categories, key facts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIoc } from '../../src/iocs/ioc-parse.js';
import { createAbuseIpdbAdapter } from '../../src/iocs/sources/abuseipdb.js';
import { createOtxAdapter } from '../../src/iocs/sources/otx.js';
import { createMemoryRateGate } from '../../src/iocs/sources/rate-gate.js';
import { SOURCE_DEFAULTS, createSourceAdapters } from '../../src/iocs/sources/registry.js';
import type { SourceAdapterFactory } from '../../src/iocs/sources/source-adapter.js';
import { createVirusTotalAdapter } from '../../src/iocs/sources/virustotal.js';
import { abuseIpdbProfile } from '../fakes/fake-abuseipdb.js';
import { FakeUpstream, type VendorProfile } from '../fakes/fake-upstream.js';
import { otxProfile } from '../fakes/fake-otx.js';
import { virusTotalProfile } from '../fakes/fake-virustotal.js';

const fakes: FakeUpstream[] = [];
const start = async (profile: VendorProfile, factory: SourceAdapterFactory) => {
  const fake = await FakeUpstream.start(profile);
  fakes.push(fake);
  const adapter = factory(
    {
      ...SOURCE_DEFAULTS.OTX,
      apiKey: fake.validKey,
      baseUrl: fake.baseUrl,
      timeoutMs: 2_000,
      retryBaseDelayMs: 5,
    },
    createMemoryRateGate({}),
  );
  return { fake, lookup: (value: string) => adapter.lookup(parseIoc(value), new AbortController().signal) };
};
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
});

describe('AbuseIPDB mapping', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start(abuseIpdbProfile, createAbuseIpdbAdapter);
  });

  it('asks /api/v2/check with maxAgeInDays=90 and verbose; report categories by frequency', async () => {
    s.fake.setScenario('45.155.205.1', 'known-bad');
    const r = await s.lookup('45.155.205.1');
    expect(r.score).toBe(100);
    expect(r.categories).toEqual(['BRUTEFORCE', 'SCAN']);
    expect(r.data).toMatchObject({ totalReports: 412, numDistinctUsers: 97, isWhitelisted: false });
    const search = new URLSearchParams(s.fake.callsFor('45.155.205.1')[0]?.search);
    expect(search.get('maxAgeInDays')).toBe('90');
    expect(search.has('verbose')).toBe(true);
  });

  it('isWhitelisted becomes whitelist evidence', async () => {
    s.fake.setScenario('8.8.4.4', 'whitelisted');
    const r = await s.lookup('8.8.4.4');
    expect(r.evidence).toEqual({ whitelisted: true, known: true });
  });
});

describe('OTX mapping', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start(otxProfile, createOtxAdapter);
  });

  it.each([
    ['evil-otx.com', '/api/v1/indicators/domain/evil-otx.com/general'],
    ['cdn.evil-otx.co.uk', '/api/v1/indicators/hostname/cdn.evil-otx.co.uk/general'],
    ['45.9.20.1', '/api/v1/indicators/IPv4/45.9.20.1/general'],
    ['2a00:1450::1', '/api/v1/indicators/IPv6/2a00%3A1450%3A%3A1/general'],
    ['http://evil-otx.com/a?b=1', '/api/v1/indicators/url/http%3A%2F%2Fevil-otx.com%2Fa%3Fb%3D1/general'],
    ['d41d8cd98f00b204e9800998ecf8427e', '/api/v1/indicators/file/d41d8cd98f00b204e9800998ecf8427e/general'],
  ])('%s → %s', async (value, path) => {
    await s.lookup(value);
    expect(s.fake.callsFor(parseIoc(value).value)[0]?.path).toBe(path);
  });

  it('pulses, tags and malware families → score and categories', async () => {
    s.fake.setScenario('45.9.20.2', 'known-bad');
    const r = await s.lookup('45.9.20.2');
    expect(r.score).toBe(70 + 10); // 4 pulses → 70, +10 for a malware family
    expect(r.categories[0]).toBe('MALWARE');
    expect(r.categories).toEqual(expect.arrayContaining(['BRUTEFORCE', 'BOTNET', 'SCAN']));
    expect(r.data).toMatchObject({ pulseCount: 4, malwareFamilies: ['Mirai'], attackIds: ['T1110'] });
  });

  it('validation entries become whitelist evidence', async () => {
    s.fake.setScenario('known-good-otx.com', 'whitelisted');
    const r = await s.lookup('known-good-otx.com');
    expect(r.evidence?.whitelisted).toBe(true);
    expect(r.data).toMatchObject({ validation: ['Known benign'] });
  });
});

describe('VirusTotal mapping', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start(virusTotalProfile, createVirusTotalAdapter);
  });

  it('URL ids are unpadded base64url of the normalised URL', async () => {
    const url = 'http://evil-vt.com/x?y=1';
    await s.lookup(url);
    const id = s.fake.callsFor(url)[0]?.path.split('/').at(-1) ?? '';
    expect(id).toBe(Buffer.from(url).toString('base64url'));
    expect(id).not.toContain('=');
  });

  it('engine verdicts, vendor categories and threat labels → categories', async () => {
    s.fake.setScenario('evil-vt.net', 'known-bad');
    const r = await s.lookup('evil-vt.net');
    expect(r.score).toBe(100); // (12 + 1) / 90 flagged > 10 %
    expect(r.categories).toEqual(expect.arrayContaining(['PHISHING', 'MALWARE']));
    expect(r.data).toMatchObject({
      found: true,
      reputation: -42,
      suggestedThreatLabel: 'trojan.fixture/stealer',
    });
  });

  it('404 NotFoundError: OK, score null, known false', async () => {
    s.fake.setScenario('never-seen-vt.org', 'unknown');
    const r = await s.lookup('never-seen-vt.org');
    expect(r).toMatchObject({
      status: 'OK',
      score: null,
      evidence: { known: false },
      data: { found: false },
    });
  });
});

describe('registry', () => {
  it('builds all three adapters from config, keyless ones reporting SKIPPED', async () => {
    const adapters = createSourceAdapters({ OTX: { apiKey: 'k' } }, createMemoryRateGate());
    expect(adapters.map((a) => a.name)).toEqual(['ABUSEIPDB', 'OTX', 'VIRUSTOTAL']);
    const vt = adapters.find((a) => a.name === 'VIRUSTOTAL');
    const r = await vt?.lookup(parseIoc('8.8.8.8'), new AbortController().signal);
    expect(r).toMatchObject({ status: 'SKIPPED', errorKind: 'NOT_CONFIGURED' });
  });

  it('an aborted caller signal ends the lookup as TIMEOUT', async () => {
    const fake = await FakeUpstream.start(virusTotalProfile);
    fakes.push(fake);
    fake.setScenario('slow-vt.com', 'slow');
    const adapter = createVirusTotalAdapter(
      { ...SOURCE_DEFAULTS.VIRUSTOTAL, apiKey: fake.validKey, baseUrl: fake.baseUrl },
      createMemoryRateGate({}),
    );
    const controller = new AbortController();
    const pending = adapter.lookup(parseIoc('slow-vt.com'), controller.signal);
    await expect.poll(() => fake.callsFor('slow-vt.com').length).toBe(1);
    controller.abort(); // the fake would answer only after 3 s
    const r = await pending;
    expect(r).toMatchObject({ status: 'ERROR', errorKind: 'TIMEOUT', error: 'lookup aborted by the caller' });
    expect(fake.callsFor('slow-vt.com')).toHaveLength(1);
  });
});
