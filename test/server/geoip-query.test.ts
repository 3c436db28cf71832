import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('geoip_query');
});
afterAll(() => t.stop());

const Q =
  'query($ips: [String!]!) { geoip(ips: $ips) { input ip reason error geo { countryCode countryName latitude longitude approximate } } }';
type Row = {
  input: string;
  ip: string | null;
  reason: string | null;
  error: string | null;
  geo: { countryCode: string; countryName: string; approximate: boolean; latitude: number } | null;
};

it('answers one entry per input, in order, with reasons and per-entry errors', async () => {
  const ips = ['8.8.8.8', '10.0.0.1', 'not-an-ip', '2001:4860:4860::8888', '127.1', '192.0.2.7', '::1'];
  const res = await t.gql<{ geoip: Row[] }>(Q, { ips });
  expect(res.errors).toBeUndefined();
  const rows = res.data!.geoip;
  expect(rows.map((r) => r.input)).toEqual(ips);
  expect(rows[0]?.geo).toMatchObject({ countryCode: 'US', countryName: 'United States', approximate: true });
  expect(typeof rows[0]?.geo?.latitude).toBe('number');
  expect(rows[1]).toMatchObject({ ip: '10.0.0.1', reason: 'PRIVATE', geo: null });
  expect(rows[2]?.error).toBeTruthy();
  expect(rows[3]?.geo?.countryCode).toBe('US');
  expect(rows[4]?.error).toBeTruthy();
  expect(rows[5]?.reason).toBe('DOCUMENTATION');
  expect(rows[6]?.reason).toBe('LOOPBACK');
});

it('enforces the documented batch limit with BAD_USER_INPUT', async () => {
  const res = await t.gql(Q, { ips: Array.from({ length: 1001 }, () => '8.8.8.8') });
  expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const ok = await t.gql<{ geoip: Row[] }>(Q, {
    ips: Array.from({ length: 1000 }, (_, i) => `1.1.${i % 256}.1`),
  });
  expect(ok.data?.geoip).toHaveLength(1000);
});
