import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRoot } from '../../src/platform/paths.js';
import { registerStaticUi } from '../../src/server/static-ui.js';
import { startTestApp, uniqueLabel, type TestApp } from '../helpers/test-app.js';
import {
  buildWeb,
  createKey,
  eventually,
  hasChromium,
  launchChromium,
  openConsole,
  screenshot,
  signIn,
} from './console-harness.js';

beforeAll(buildWeb);

describe('console static serving', () => {
  it('answers / and every view path with the console page under a strict CSP; GraphiQL stays at /graphiql', async () => {
    const app = Fastify();
    await registerStaticUi(app, { distDir: fromRoot('web', 'dist') });
    try {
      for (const url of [
        '/',
        '/live',
        '/map?window=1h',
        '/ioc',
        '/events',
        '/crowdsec',
        '/stats',
        '/admin',
      ]) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(200);
        expect(res.body, url).toContain('/console/main.js');
        expect(res.headers['content-security-policy']).toContain("default-src 'none'");
        expect(res.headers['content-security-policy']).not.toMatch(/https?:|\*/);
        expect(res.headers['cache-control']).toBe('no-cache');
      }
      const js = await app.inject({ url: '/console/main.js' });
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
      expect((await app.inject({ url: '/graphiql' })).body).toContain('/graphiql/main.js');
      expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('answers 503 with a hint when the console is not built', async () => {
    const app = Fastify();
    await registerStaticUi(app, { distDir: fromRoot('web', 'no-such-dist') });
    try {
      for (const url of ['/', '/live', '/console/main.js']) {
        const res = await app.inject({ url });
        expect(res.statusCode, url).toBe(503);
        expect(res.body).toContain('npm run web:build');
      }
    } finally {
      await app.close();
    }
  });
});

describe.runIf(hasChromium)('console shell in Chromium', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startTestApp(uniqueLabel('console_shell')), launchChromium()]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
  });

  it('a wrong key gets a clear message with the API error code, and the form to try again', async () => {
    const c = await openConsole(browser, app, '/live');
    try {
      await screenshot(c.page, 'key-entry');
      await c.page.fill('#tw-console-key', 'tw_not_a_real_key');
      await c.page.click('button:has-text("Open console")');
      const note = c.page.locator('[role=alert]');
      await eventually(() => note.innerText()).toMatch(/Signing in failed: .+UNAUTHENTICATED/s);
      expect(await c.page.locator('#tw-console-key').isVisible()).toBe(true);
      expect(c.foreign).toEqual([]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('a READER sees no Admin view and no ban or label actions', async () => {
    const readerKey = await createKey(app, 'READER');
    const c = await openConsole(browser, app, '/crowdsec');
    try {
      await signIn(c.page, readerKey, 'READER');
      const nav = c.page.locator('header nav a');
      expect(await nav.allInnerTexts()).toEqual([
        'Live',
        'Map',
        'IOC lookup',
        'Events',
        'CrowdSec',
        'Statistics',
      ]);
      await eventually(() => c.page.locator('main[data-view=crowdsec] h2').count()).toBe(1);
      expect(await c.page.locator('button:has-text("Ban")').count()).toBe(0);
      expect(await c.page.locator('button:has-text("Unban")').count()).toBe(0);
      await c.page.goto(`${app.origin}/admin`);
      await eventually(() => c.page.locator('main').innerText()).toContain(
        'Admin needs an ADMIN key; this key is READER.',
      );
      expect(await c.page.locator('button:has-text("Create key")').count()).toBe(0);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('an ADMIN sees every view; a reload keeps the view, its filters and the key', async () => {
    const c = await openConsole(
      browser,
      app,
      '/live?minSeverity=7&category=SCAN&country=FR&kinds=threat,alert',
    );
    try {
      await signIn(c.page, app.adminKey, 'ADMIN');
      const nav = c.page.locator('header nav a');
      expect(await nav.allInnerTexts()).toEqual([
        'Live',
        'Map',
        'IOC lookup',
        'Events',
        'CrowdSec',
        'Statistics',
        'Admin',
      ]);
      const state = async () => ({
        url: c.page.url().replace(app.origin, ''),
        severity: await c.page.locator('label:has-text("Min severity") select').inputValue(),
        category: await c.page.locator('label:has-text("Category") select').inputValue(),
        country: await c.page.locator('label:has-text("Country") input').inputValue(),
        threat: await c.page.locator('input[name=kind-threat]').isChecked(),
        decision: await c.page.locator('input[name=kind-decision]').isChecked(),
      });
      const expected = {
        url: '/live?minSeverity=7&category=SCAN&country=FR&kinds=threat,alert',
        severity: '7',
        category: 'SCAN',
        country: 'FR',
        threat: true,
        decision: false,
      };
      await eventually(state).toEqual(expected);
      await c.page.locator('label:has-text("Min severity") select').selectOption('9');
      await eventually(() => c.page.url()).toContain('minSeverity=9');
      await c.page.reload();
      await eventually(state).toEqual({
        ...expected,
        url: expected.url.replace('minSeverity=7', 'minSeverity=9'),
        severity: '9',
      });
      expect(await c.page.locator('[data-testid=viewer]').innerText()).toContain('ADMIN');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('an ANALYST opens an event from the filtered Events table and labels it', async () => {
    const type = uniqueLabel('labelled');
    const ingested = await app.gql<{ ingestThreatEvent: { id: string } }>(
      'mutation($i: ThreatEventInput!) { ingestThreatEvent(input: $i) { id } }',
      { i: { sourceIp: '9.9.9.9', threatType: type, severity: 6 } },
    );
    const id = ingested.data!.ingestThreatEvent.id;
    const analyst = await createKey(app, 'ANALYST');
    const c = await openConsole(browser, app, `/events?type=${type}`);
    try {
      await signIn(c.page, analyst, 'ANALYST');
      const row = c.page.locator(`[data-testid=events-table] .event-row[data-id="${id}"]`);
      await eventually(() => c.page.locator('[data-testid=events-table] .event-row').count()).toBe(1);
      await row.click();
      await eventually(() => c.page.url()).toBe(`${app.origin}/events?type=${type}&id=${id}`);
      const detail = c.page.locator('[data-testid=event-detail]');
      await eventually(() => detail.locator('[data-testid=event-label]').innerText()).toBe('none');
      await detail.locator('label:has-text("Label as") select').selectOption('MALWARE');
      await detail.locator('button:has-text("Label")').click();
      await eventually(() => detail.locator('[data-testid=event-label]').innerText()).toBe('MALWARE');
      const stored = await app.gql<{ threatEvent: { label: string } }>(
        'query($id: ID!) { threatEvent(id: $id) { label } }',
        {
          id,
        },
      );
      expect(stored.data?.threatEvent.label).toBe('MALWARE');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
