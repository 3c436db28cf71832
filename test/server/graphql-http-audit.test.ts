import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('audit', { RATE_LIMIT_POINTS: '100000' });
});
afterAll(() => t.stop());

it('passes every MUST audit of the GraphQL-over-HTTP spec (graphql-http serverAudits)', async () => {
  // Every operation needs a key, and simple GETs need the header a real client sends
  // to pass CSRF prevention; the audit's own requests are otherwise untouched.
  const fetchFn = (input: string | URL | Request, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${t.adminKey}`);
    headers.set('apollo-require-preflight', 'true');
    return fetch(input, { ...init, headers });
  };
  const results = await auditServer({ url: t.url, fetchFn });
  const must = results.filter((r) => r.name.startsWith('MUST'));
  const failedMust = must.filter((r) => r.status !== 'ok');
  const should = results.filter((r) => r.name.startsWith('SHOULD'));
  console.log(
    `graphql-http audit: MUST ${must.length - failedMust.length}/${must.length} ok; ` +
      `SHOULD ${should.filter((r) => r.status === 'ok').length}/${should.length} ok; ` +
      `total ${results.filter((r) => r.status === 'ok').length}/${results.length} ok`,
  );
  for (const r of results.filter((x) => x.status !== 'ok'))
    console.log(`  ${r.status}: ${r.name} — ${'reason' in r ? r.reason : ''}`);
  expect(must.length).toBeGreaterThan(10);
  expect(failedMust.map((r) => r.name)).toEqual([]);
});
