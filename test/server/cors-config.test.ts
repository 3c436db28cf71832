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
