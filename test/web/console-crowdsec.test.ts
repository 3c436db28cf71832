import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lapiEnv } from '../crowdsec/crowdsec-fixtures.js';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';
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
const bins = hasChromium ? lapiOrSkip('console CrowdSec browser test') : undefined;

describe.runIf(hasChromium && bins)('console CrowdSec, Statistics and Admin views in Chromium', () => {
  let lapi: Lapi;
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    lapi = await startLapi();
    [app, browser] = await Promise.all([
      startTestApp(uniqueLabel('console_cs'), lapiEnv(lapi, 500)),
      launchChromium(),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
    await lapi?.stop();
  });

  it('an ANALYST bans an IP on the real LAPI, sees the decision, unbans it and sees it go', async () => {
    const ip = '45.33.32.156';
    const analyst = await createKey(app, 'ANALYST');
    const c = await openConsole(browser, app, '/crowdsec');
    try {
      await signIn(c.page, analyst, 'ANALYST');
      await eventually(() => c.page.locator('[data-testid=crowdsec-status]').innerText()).toContain(lapi.url);
      await c.page.fill('input[name=ban-value]', ip);
      await c.page.fill('input[name=ban-duration]', '2h');
      await c.page.click('[data-testid=ban-form] button:has-text("Ban")');
      const row = c.page.locator(`[data-testid=decisions] tr[data-value="${ip}"]`);
      await eventually(() => row.count()).toBe(1);
      expect(await row.innerText()).toMatch(/ban\s+manual ban from the threatwire console/);
      expect(await lapi.cscli(['decisions', 'list', '--ip', ip, '-o', 'json'])).toContain(ip);
      await screenshot(c.page, 'crowdsec');

      await row.locator('button:has-text("Unban")').click();
      await eventually(() => row.count()).toBe(0);
      const listed = await lapi.cscli(['decisions', 'list', '--ip', ip, '-o', 'json']);
      expect(listed.trim()).toBe('null');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('a ban the LAPI refuses shows the API error code beside the form', async () => {
    const analyst = await createKey(app, 'ANALYST');
    const c = await openConsole(browser, app, '/crowdsec');
    try {
      await signIn(c.page, analyst, 'ANALYST');
      await c.page.fill('input[name=ban-value]', 'not-an-ip');
      await c.page.click('[data-testid=ban-form] button:has-text("Ban")');
      await eventually(() => c.page.locator('[data-testid=ban-form] [role=alert]').innerText()).toMatch(
        /^Ban failed: .+BAD_USER_INPUT$/s,
      );
    } finally {
      await c.close();
    }
  });

  it('Statistics and Admin render against the API (screenshots), and an admin creates and revokes a key', async () => {
    const c = await openConsole(browser, app, '/stats?range=7d');
    try {
      await signIn(c.page, app.adminKey, 'ADMIN');
      const summary = await app.gql<{ statsSummary: { threatEvents: number } }>(
        'query($s: DateTime) { statsSummary(since: $s) { threatEvents } }',
        { s: new Date(Date.now() - 7 * 86_400_000).toISOString() },
      );
      await eventually(() => c.page.locator('[data-stat="threat events"] .n').innerText()).toBe(
        String(summary.data!.statsSummary.threatEvents),
      );
      await c.page.locator('[data-testid=time-series] canvas').waitFor();
      await screenshot(c.page, 'stats');

      await c.page.goto(`${app.origin}/admin`);
      await eventually(() => c.page.locator('[data-testid=health-status]').count()).toBe(1);
      const name = uniqueLabel('ui-key');
      await c.page.fill('input[name=key-name]', name);
      await c.page.click('button:has-text("Create key")');
      const secret = await c.page.locator('[data-testid=new-secret]').innerText();
      const viewer = await app.gql<{ viewer: { name: string } }>('{ viewer { name } }', {}, secret);
      expect(viewer.data?.viewer.name).toBe(name);
      const keyRow = c.page.locator('[data-testid=api-keys] tr', { hasText: name });
      await eventually(() => keyRow.count()).toBe(1);
      await screenshot(c.page, 'admin');
      c.page.once('dialog', (dialog) => void dialog.accept());
      await keyRow.locator('button:has-text("Revoke")').click();
      await eventually(() => keyRow.count()).toBe(0);
      const after = await app.gql('{ viewer { name } }', {}, secret);
      expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
