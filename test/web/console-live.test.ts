import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpGate } from '../helpers/tcp-gate.js';
import { startTestApp, uniqueLabel, type TestApp } from '../helpers/test-app.js';
import {
  buildWeb,
  eventually,
  hasChromium,
  launchChromium,
  openConsole,
  screenshot,
  signIn,
} from './console-harness.js';

beforeAll(buildWeb);

interface Ingested {
  ingestThreatEvent: {
    id: string;
    geo: { countryCode: string | null; latitude: number | null; longitude: number | null } | null;
  };
}

describe.runIf(hasChromium)('console Live and Map views in Chromium', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startTestApp(uniqueLabel('console_live')), launchChromium()]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
  });

  async function ingest(threatType: string, sourceIp: string, severity = 5) {
    const res = await app.gql<Ingested>(
      `mutation($input: ThreatEventInput!) {
        ingestThreatEvent(input: $input) { id geo { countryCode latitude longitude } }
      }`,
      {
        input: {
          sourceIp,
          threatType,
          severity,
          externalId: randomBytes(8).toString('hex'),
          sensor: 'console-test',
        },
      },
    );
    if (!res.data) throw new Error(JSON.stringify(res.errors));
    return res.data.ingestThreatEvent;
  }

  const rowsOf = (page: Page, threatType: string) =>
    page.locator('[data-testid=live-feed] .feed-row', { hasText: `${threatType} from` }).count();

  /**
   * A subscription is live once the server has processed its subscribe message, which
   * the page cannot tell; probe events are sent until one arrives. Returns how many were sent.
   */
  async function probeUntilSeen(seen: () => Promise<boolean>, send: () => Promise<unknown>): Promise<number> {
    let sent = 0;
    await eventually(async () => {
      if (await seen()) return true;
      await send();
      sent++;
      return seen();
    }).toBe(true);
    return sent;
  }

  it('shows ingested threats as they arrive, counts them, and holds them while paused', async () => {
    const c = await openConsole(browser, app, '/live');
    try {
      await signIn(c.page, app.adminKey, 'ADMIN');
      const probe = uniqueLabel('probe');
      await probeUntilSeen(
        async () => (await rowsOf(c.page, probe)) > 0,
        () => ingest(probe, '8.8.8.8'),
      );
      // Probes sent before the server registered the subscription are never delivered.
      const probes = await rowsOf(c.page, probe);

      const batch = uniqueLabel('batch');
      for (let i = 0; i < 25; i++) await ingest(batch, `8.8.4.${i + 1}`, (i % 10) + 1);
      // The list is virtualised (only visible rows are in the DOM): count with the counter,
      // and check the newest row is on top.
      await eventually(() =>
        c.page.locator('p', { hasText: 'received since this view opened' }).innerText(),
      ).toContain(`${probes + 25} received`);
      const firstRow = c.page.locator('[data-testid=live-feed] .feed-row').first();
      expect(await firstRow.innerText()).toContain(`${batch} from 8.8.4.25`);
      await screenshot(c.page, 'live');

      await c.page.click('button:has-text("Pause")');
      const held = uniqueLabel('held');
      for (let i = 0; i < 3; i++) await ingest(held, '8.8.8.8');
      await eventually(() => c.page.locator('button:has-text("Resume")').innerText()).toBe('Resume (3 held)');
      expect(await rowsOf(c.page, held)).toBe(0);
      await c.page.click('button:has-text("Resume")');
      await eventually(() => rowsOf(c.page, held)).toBe(3);
      expect(await firstRow.innerText()).toContain(`${held} from`);
      expect(c.foreign).toEqual([]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('puts live threats on the map where they land, with the count the API reports for that place', async () => {
    const c = await openConsole(browser, app, '/map?window=1h');
    try {
      await signIn(c.page, app.adminKey, 'ADMIN');
      await c.page.locator('svg.world path.country').first().waitFor();
      let geo: Ingested['ingestThreatEvent']['geo'] = null;
      const type = uniqueLabel('map');
      const sent = await probeUntilSeen(
        async () => (await c.page.locator('[data-testid=map-pulse]').count()) > 0,
        async () => {
          geo = (await ingest(type, '1.1.1.1', 9)).geo;
        },
      );
      const place = geo as Ingested['ingestThreatEvent']['geo'];
      expect(place?.countryCode).toMatch(/^[A-Z]{2}$/);
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const res = await app.gql<{ threatMap: { countryCode: string; count: number }[] }>(
        'query($s: DateTime) { threatMap(since: $s) { countryCode count } }',
        { s: since },
      );
      const expected = res.data!.threatMap.find((p) => p.countryCode === place!.countryCode)!.count;
      const point = c.page.locator(`circle.point[data-country=${place!.countryCode}]`);
      await eventually(() => point.getAttribute('data-count')).toBe(String(expected));
      await screenshot(c.page, 'map');
      await point.click();
      await eventually(() => c.page.url()).toBe(`${app.origin}/events?country=${place!.countryCode}`);
      await eventually(() =>
        c.page.locator('[data-testid=events-table] .event-row', { hasText: type }).count(),
      ).toBe(sent);
      await screenshot(c.page, 'events');
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('says when the socket drops, reconnects by itself, says so, replays the gap once, and the feed flows again', async () => {
    const port = Number(new URL(app.origin).port);
    const gate = await startTcpGate('127.0.0.1', port);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${gate.port}/live`);
      await signIn(page, app.adminKey, 'ADMIN');
      const badge = page.locator('[data-testid=socket-status]');
      await eventually(() => badge.innerText()).toBe('Live: connected');
      // Something shown before the drop, so the feed has a cursor to resume from.
      const before = uniqueLabel('before');
      await probeUntilSeen(
        async () => (await rowsOf(page, before)) > 0,
        () => ingest(before, '8.8.8.8'),
      );
      await gate.cut();
      await eventually(() => badge.innerText()).toBe('Live: connection lost, reconnecting…');
      const during = uniqueLabel('during');
      await ingest(during, '8.8.8.8'); // while the socket is down
      await gate.restore();
      await eventually(() => badge.innerText()).toMatch(
        /^Live: connected · reconnected at .+ \(the live feed replays the events of the gap\)$/,
      );
      await eventually(() => rowsOf(page, during)).toBe(1);
      expect(await rowsOf(page, before)).toBeGreaterThan(0);
      const after = uniqueLabel('after');
      await probeUntilSeen(
        async () => (await rowsOf(page, after)) > 0,
        () => ingest(after, '8.8.8.8'),
      );
    } finally {
      await context.close();
      await gate.close();
    }
  });
});
