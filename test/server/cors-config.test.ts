import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp('cors', { CORS_ORIGINS: 'https://soc.example, https://dash.example:8443' });
});
afterAll(() => t.stop());

it('CORS_ORIGINS replaces the default: listed origins pass, the server’s own does not', async () => {
  const preflight = (origin: string) =>
    fetch(t.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  expect((await preflight('https://soc.example')).headers.get('access-control-allow-origin')).toBe(
    'https://soc.example',
  );
  expect((await preflight('https://dash.example:8443')).headers.get('access-control-allow-origin')).toBe(
    'https://dash.example:8443',
  );
  expect((await preflight(t.origin)).headers.get('access-control-allow-origin')).toBeNull();
  const status = await new Promise<string>((resolve) => {
    const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws', { origin: 'https://soc.example' });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
  });
  expect(status).toBe('open');
});

it('a preflight from a listed origin gets the methods and a 600 s max-age; a request without Origin gets no CORS headers', async () => {
  const preflight = await fetch(t.url, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://soc.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('https://soc.example');
  expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
  expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
  expect(preflight.headers.get('access-control-max-age')).toBe('600');
  expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

  const plain = await t.gql<{ __typename: string }>('{ __typename }');
  expect(plain.data?.__typename).toBe('Query');
  expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  const fromBrowser = await fetch(t.url, {
    method: 'POST',
    headers: {
      origin: 'https://dash.example:8443',
      'content-type': 'application/json',
      authorization: `Bearer ${t.adminKey}`,
    },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(fromBrowser.headers.get('access-control-allow-origin')).toBe('https://dash.example:8443');
  expect(fromBrowser.headers.get('vary')).toContain('Origin');
});

it('refuses a preflight without a requested method, answers one on any path, and always varies by Origin', async () => {
  const noMethod = await fetch(t.url, { method: 'OPTIONS', headers: { origin: 'https://soc.example' } });
  expect(noMethod.status).toBe(400);
  expect(await noMethod.text()).toBe('Invalid Preflight Request');

  const health = await fetch(new URL('/healthz', t.url), {
    method: 'OPTIONS',
    headers: { origin: 'https://soc.example', 'access-control-request-method': 'GET' },
  });
  expect(health.status).toBe(204);
  expect(health.headers.get('access-control-allow-origin')).toBe('https://soc.example');
  expect(health.headers.get('access-control-allow-headers')).toBeNull();
  expect(health.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers');

  const foreign = await fetch(t.url, {
    method: 'POST',
    headers: {
      origin: 'https://evil.example',
      'content-type': 'application/json',
      authorization: `Bearer ${t.adminKey}`,
    },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  expect(foreign.headers.get('vary')).toBe('Origin');
  const plain = await t.gql('{ __typename }');
  expect(plain.headers.get('vary')).toBe('Origin');
});
