import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page, WebSocket as PageWebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../src/platform/paths.js';
import { registerStaticUi } from '../../src/server/static-ui.js';
import { isCI } from '../helpers/services.js';
import { startTestApp, uniqueLabel } from '../helpers/test-app.js';

/** Debian's package (scripts/install-chromium.sh); Playwright's own download cannot work here. */
const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
const distDir = fromRoot('web', 'dist');

/** Browser steps run on a shared two-core machine: poll generously, fail clearly. */
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 10_000, interval: 100 });

if (!hasChromium && isCI) {
  throw new Error(`${chromiumPath} is missing: CI must run scripts/install-chromium.sh before the tests`);
}
if (!hasChromium) {
  console.warn(`[skip] GraphiQL browser tests: ${chromiumPath} is missing; run scripts/install-chromium.sh`);
}

// `npm test` builds the page in pretest; a bare `npx vitest run` does not. The build
// skips itself when web/dist is current, so this costs a fraction of a second then.
beforeAll(async () => {
  await promisify(execFile)(process.execPath, [fromRoot('web', 'build.mjs')], { cwd: fromRoot() });
});

describe('GraphiQL static serving', () => {
  it('serves the bundle at /graphiql and /graphiql/ with strict headers', async () => {
    const app = Fastify();
    await registerStaticUi(app, { distDir });
    try {
      // / is the console now (test/web/console-shell.test.ts); GraphiQL keeps its own path.
      const root = await app.inject({ url: '/' });
      expect(root.statusCode).toBe(200);
      expect(root.body).toContain('/console/main.js');

      for (const url of ['/graphiql', '/graphiql/']) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toContain('/graphiql/main.js');
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
        expect(res.headers['content-security-policy']).toContain("worker-src 'self'");
        expect(res.headers['content-security-policy']).not.toMatch(/https?:|\*/);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['cache-control']).toBe('no-cache');
      }

      const worker = await app.inject({ url: '/graphiql/workers/editor.worker.js' });
      expect(worker.statusCode).toBe(200);
      expect(worker.headers['content-type']).toMatch(/javascript/);
      expect((await app.inject({ url: '/graphiql/.build-stamp.json' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/graphiql/..%2fbuild.mjs' })).statusCode).not.toBe(200);
    } finally {
      await app.close();
    }
  });

  it('answers 503 with a hint, not a crash, when web/dist is missing', async () => {
    const app = Fastify();
    await registerStaticUi(app, { distDir: fromRoot('web', 'no-such-dist') });
    try {
      for (const url of ['/graphiql', '/graphiql/', '/graphiql/main.js']) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(503);
        expect(res.body).toContain('npm run web:build');
      }
    } finally {
      await app.close();
    }
  });
});

describe.runIf(hasChromium)('GraphiQL in Chromium', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([
      startTestApp(uniqueLabel('graphiql')),
      chromium.launch({
        executablePath: chromiumPath,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
  });

  interface SocketLog {
    url: string;
    sent: string[];
    received: string[];
  }

  /** What the page tried to reach: anything off the server's host is blocked and recorded. */
  interface Traffic {
    page: Page;
    context: BrowserContext;
    foreign: string[];
    problems: string[];
    /** Authorization headers of the page's POSTs to /graphql, in order. */
    authHeaders: (string | undefined)[];
    sockets: SocketLog[];
    workers: string[];
  }

  function logSocket(ws: PageWebSocket): SocketLog {
    const log: SocketLog = { url: ws.url(), sent: [], received: [] };
    ws.on('framesent', (frame) => log.sent.push(String(frame.payload)));
    ws.on('framereceived', (frame) => log.received.push(String(frame.payload)));
    return log;
  }

  async function openGraphiql(): Promise<Traffic> {
    const host = new URL(app.origin).host;
    const context = await browser.newContext();
    const page = await context.newPage();
    const traffic: Traffic = {
      page,
      context,
      foreign: [],
      problems: [],
      authHeaders: [],
      sockets: [],
      workers: [],
    };
    // The air-gap check: a request to any other host would mean a CDN dependency.
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.host === host) return route.continue();
      traffic.foreign.push(url.href);
      return route.abort('blockedbyclient');
    });
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/graphql') {
        traffic.authHeaders.push(request.headers()['authorization']);
      }
    });
    page.on('websocket', (ws) => {
      traffic.sockets.push(logSocket(ws));
      if (new URL(ws.url()).host !== host) traffic.foreign.push(ws.url());
    });
    page.on('worker', (worker) => traffic.workers.push(worker.url()));
    page.on('pageerror', (error) => traffic.problems.push(`pageerror: ${error.message}`));
    // CSP violations are reported on the console; Monaco without its workers warns there too.
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Could not create web worker/i.test(text)) traffic.problems.push(text);
    });
    const response = await page.goto(`${app.origin}/graphiql`);
    expect(response?.status()).toBe(200);
    // The real server's wiring keeps the page's own policy.
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.locator('.graphiql-query-editor .view-lines').waitFor();
    return traffic;
  }

  async function enterApiKey(page: Page, key: string): Promise<void> {
    await page.fill('#tw-api-key', key);
    await page.click('button:has-text("Save key")');
  }

  async function replaceQuery(page: Page, query: string): Promise<void> {
    await page.locator('.graphiql-query-editor .view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText bypasses Monaco's bracket auto-closing, which typing would trigger.
    await page.keyboard.insertText(query);
  }

  async function responseText(page: Page): Promise<string> {
    const text = await page.locator('.graphiql-response .view-lines').innerText();
    return text.replace(/\u00a0/g, ' ');
  }

  const messagesOfType = (frames: string[], type: string) =>
    frames.filter((f) => f.includes(`"type":"${type}"`));

  it('runs the default health query once the API key is entered, loading nothing from other hosts', async () => {
    const { page, context, foreign, problems, workers, authHeaders } = await openGraphiql();
    try {
      await eventually(() => page.locator('.tw-alert').innerText()).toMatch(/API key/);
      expect(await page.locator('.graphiql-query-editor .view-lines').innerText()).toMatch(/health/);

      await enterApiKey(page, app.adminKey);
      await page.click('.graphiql-execute-button');
      await eventually(() => responseText(page)).toMatch(/"status": "\w+"/);
      const result = await responseText(page);
      expect(result).toMatch(/"version": "/);
      expect(result).not.toMatch(/UNAUTHENTICATED/);
      await eventually(() => page.locator('[data-status]').getAttribute('data-status')).toBe('accepted');
      expect(await page.locator('.tw-alert').count()).toBe(0);
      // Entered once: kept in this browser and sent as a bearer token.
      const { origins } = await context.storageState();
      const stored = origins.find((o) => o.origin === app.origin)?.localStorage;
      expect(stored?.find((item) => item.name === 'threatwire:apiKey')?.value).toBe(app.adminKey);
      expect(authHeaders.at(-1)).toBe(`Bearer ${app.adminKey}`);

      // Monaco's workers came from this server: the editor and the GraphQL language worker.
      // The GraphQL worker starts once the schema has arrived, so it may still be on its way.
      await eventually(() => workers.some((url) => url.endsWith('/graphiql/workers/graphql.worker.js'))).toBe(
        true,
      );
      expect(workers.every((url) => url.startsWith(`${app.origin}/graphiql/workers/`))).toBe(true);
      expect(foreign).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows UNAUTHENTICATED for a wrong key, then streams a subscription over graphql-ws after a new key', async () => {
    const { page, context, foreign, problems, sockets } = await openGraphiql();
    try {
      await enterApiKey(page, 'tw_not_a_real_key_000000000000');
      await replaceQuery(page, 'subscription { heartbeat(intervalSeconds: 1) }');
      await page.click('.graphiql-execute-button');
      await eventually(() => page.locator('.tw-alert').innerText()).toMatch(/UNAUTHENTICATED/);
      expect(await page.locator('[data-status]').getAttribute('data-status')).toBe('rejected');

      // The rejected key went out as connectionParams on the first socket.
      await eventually(() => messagesOfType(sockets[0]?.sent ?? [], 'connection_init').join()).toContain(
        'tw_not_a_real_key',
      );
      expect(sockets).toHaveLength(1);

      // A new key must open a new socket: connectionParams are only sent on connect.
      await enterApiKey(page, app.adminKey);
      await page.click('.graphiql-execute-button');
      await eventually(() => sockets.length).toBe(2);
      const accepted = sockets[1]!;
      expect(new URL(accepted.url).pathname).toBe('/graphql');
      // The socket is reported when it opens; its connection_init follows.
      await eventually(() => messagesOfType(accepted.sent, 'connection_init').join()).toContain(
        `"apiKey":"${app.adminKey}"`,
      );

      await eventually(() => messagesOfType(accepted.received, 'next').length).toBeGreaterThanOrEqual(2);
      await eventually(() => responseText(page)).toMatch(/"heartbeat": "/);
      await eventually(() => page.locator('[data-status]').getAttribute('data-status')).toBe('accepted');
      expect(foreign).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
