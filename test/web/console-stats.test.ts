/**
 * The Statistics view's threat analytics in Chromium: events ingested through the API
 * into this window (the last 24 hours) and the one before it, counted by each dimension
 * with the change between the two. Expected numbers are worked out from the fixtures.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueLabel, type TestApp } from '../helpers/test-app.js';
import { event, INGEST_ONE, IPS } from '../threats/threat-fixtures.js';
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

const HOUR = 3_600_000;

describe.runIf(hasChromium)('console threat analytics in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let sshCategory: string;
  let scanCategory: string;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startTestApp(uniqueLabel('console_stats')), launchChromium()]);
    const now = Date.now();
    const ssh = { threatType: 'ssh_bruteforce', description: 'Failed password for root', tags: ['ssh'] };
    const scan = { threatType: 'port_scan', description: 'SYN scan of many ports', tags: ['scan'] };
    // This window (the view's 24 h range): ssh ×3 from the US at severity 7, scan ×1 from DE at 3.
    // The previous 24 h: ssh ×1 (US, 7), scan ×2 (DE, 3). Nothing else is stored in this database.
    const fixtures = [
      { hoursAgo: 1, ip: IPS.US, severity: 7, destinationPort: 22, ...ssh },
      { hoursAgo: 2, ip: IPS.US, severity: 7, destinationPort: 22, ...ssh },
      { hoursAgo: 3, ip: IPS.US, severity: 7, destinationPort: 22, ...ssh },
      { hoursAgo: 4, ip: IPS.DE, severity: 3, destinationPort: 443, ...scan },
      { hoursAgo: 30, ip: IPS.US, severity: 7, destinationPort: 22, ...ssh },
      { hoursAgo: 31, ip: IPS.DE, severity: 3, destinationPort: 443, ...scan },
      { hoursAgo: 32, ip: IPS.DE, severity: 3, destinationPort: 443, ...scan },
    ];
    const categories: string[] = [];
    for (const f of fixtures) {
      const res = await app.gql<{ ingestThreatEvent: { classification: { category: string } } }>(INGEST_ONE, {
        input: event({
          sourceIp: f.ip,
          severity: f.severity,
          destinationPort: f.destinationPort,
          threatType: f.threatType,
          description: f.description,
          tags: f.tags,
          occurredAt: new Date(now - f.hoursAgo * HOUR).toISOString(),
        }),
      });
      expect(res.errors).toBeUndefined();
      categories.push(res.data!.ingestThreatEvent.classification.category);
    }
    // The classifier decides the categories; the table must group by what it stored.
    sshCategory = categories[0]!;
    scanCategory = categories[3]!;
    expect(new Set([0, 1, 2, 4].map((i) => categories[i]))).toEqual(new Set([sshCategory]));
    expect(new Set([3, 5, 6].map((i) => categories[i]))).toEqual(new Set([scanCategory]));
    expect(sshCategory).not.toBe(scanCategory);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop()]);
  });

  it('shows this window against the previous one by category, then by each other dimension', async () => {
    const reader = await createKey(app, 'READER');
    const c = await openConsole(browser, app, '/stats');
    try {
      await signIn(c.page, reader, 'READER');
      const table = c.page.locator('[data-testid=threat-stats]');
      const rows = () =>
        table
          .locator('tbody tr')
          .evaluateAll((trs: { innerText: string }[]) => trs.map((tr) => tr.innerText.split('\t')));
      const header = () => table.locator('thead th').allInnerTexts();
      // ssh: 3 now, 1 before: +2 = +200%. scan: 1 now, 2 before: −1 = −50%.
      await eventually(rows).toEqual([
        [sshCategory, '3', '1', '+2 (+200%)'],
        [scanCategory, '1', '2', '−1 (−50%)'],
      ]);
      expect(await header()).toEqual(['Category', 'This window', 'Previous window', 'Change']);
      await table.scrollIntoViewIfNeeded();
      await screenshot(c.page, 'threat-analytics');

      const select = c.page.locator('select[name=threat-group]');
      await select.selectOption('SEVERITY');
      await eventually(() => c.page.url()).toBe(`${app.origin}/stats?group=SEVERITY`);
      await eventually(rows).toEqual([
        ['7', '3', '1', '+2 (+200%)'],
        ['3', '1', '2', '−1 (−50%)'],
      ]);
      expect(await header()).toEqual(['Severity', 'This window', 'Previous window', 'Change']);

      await select.selectOption('THREAT_TYPE');
      await eventually(rows).toEqual([
        ['ssh_bruteforce', '3', '1', '+2 (+200%)'],
        ['port_scan', '1', '2', '−1 (−50%)'],
      ]);
      await select.selectOption('COUNTRY');
      await eventually(rows).toEqual([
        ['United States (US)', '3', '1', '+2 (+200%)'],
        ['Germany (DE)', '1', '2', '−1 (−50%)'],
      ]);
      await select.selectOption('SOURCE_IP');
      await eventually(rows).toEqual([
        [IPS.US, '3', '1', '+2 (+200%)'],
        [IPS.DE, '1', '2', '−1 (−50%)'],
      ]);
      await select.selectOption('DESTINATION_PORT');
      await eventually(rows).toEqual([
        ['22', '3', '1', '+2 (+200%)'],
        ['443', '1', '2', '−1 (−50%)'],
      ]);
      // The grouping is part of the URL: a reload keeps it.
      await c.page.reload();
      await eventually(() => select.inputValue()).toBe('DESTINATION_PORT');
      await eventually(rows).toEqual([
        ['22', '3', '1', '+2 (+200%)'],
        ['443', '1', '2', '−1 (−50%)'],
      ]);
      expect(await c.page.getByLabel('Group by').count()).toBe(1);
      expect(c.foreign).toEqual([]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
