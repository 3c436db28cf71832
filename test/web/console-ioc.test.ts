import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueLabel, type TestApp } from '../helpers/test-app.js';
import { startFakes, type Fakes } from '../iocs/ioc-harness.js';
import { freshIoc } from '../iocs/ioc-samples.js';
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

/** The part of a DOM element the labelling check reads (the tests compile without the DOM library). */
interface ControlElement {
  closest(selector: string): unknown;
  getAttribute(name: string): string | null;
  textContent: string | null;
  outerHTML: string;
}

interface Lookup {
  lookupIoc: {
    riskScore: number | null;
    riskLevel: string | null;
    sources: { source: string; status: string }[];
    scoreBreakdown: { source: string; contribution: number }[];
  };
}

describe.runIf(hasChromium)('console IOC lookup in Chromium', () => {
  let app: TestApp;
  let fakes: Fakes;
  let browser: Browser;

  beforeAll(async () => {
    fakes = await startFakes();
    [app, browser] = await Promise.all([
      // VirusTotal's default budget (4/min) would be spent by whichever tests run first
      // (the order is shuffled), leaving later lookups without it: room for every test here.
      startTestApp(uniqueLabel('console_ioc'), { ...fakes.env, VIRUSTOTAL_RATE_LIMITS: '1000/60' }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), app?.stop(), fakes?.close()]);
  });

  it('looks up two indicators against the sources: score, level, breakdown and one card per source, raw bodies in debug', async () => {
    const ip = freshIoc('IPV4').value;
    const domain = freshIoc('DOMAIN').value;
    for (const fake of fakes.all) fake.setScenario(ip, 'known-bad');
    const reader = await createKey(app, 'READER');
    const c = await openConsole(browser, app, '/ioc');
    try {
      await signIn(c.page, reader, 'READER');
      await c.page.fill('textarea[name=indicators]', `${ip}\n${domain}`);
      await eventually(() => c.page.locator('[data-testid=detected-types] li').allInnerTexts()).toEqual([
        `${ip} IPv4`,
        `${domain} domain`,
      ]);
      await c.page.click('button:has-text("Look up")');
      await eventually(() => c.page.url()).toBe(
        `${app.origin}/ioc?q=${encodeURIComponent(`${ip}\n${domain}`)}`,
      );

      const card = c.page.locator(`[data-testid=ioc-card][data-value="${ip}"]`);
      await eventually(() => card.locator('[data-testid=source-card]').count()).toBe(3);
      // The page must show what the API says about the value (now cached, so no new fetch).
      const api = await app.gql<Lookup>(
        'query($v: String!) { lookupIoc(value: $v) { riskScore riskLevel sources { source status } scoreBreakdown { source contribution } } }',
        { v: ip },
      );
      const expected = api.data!.lookupIoc;
      expect(expected.riskLevel).toBe('CRITICAL');
      expect(await card.locator('[data-testid=risk-score]').textContent()).toBe(String(expected.riskScore));
      expect(await card.locator('.gauge-level').textContent()).toBe('CRITICAL');
      expect(await card.locator('[data-testid=score-breakdown] tbody tr').count()).toBe(
        expected.scoreBreakdown.length,
      );
      expect(await card.locator('[data-testid=source-card] .badge').allInnerTexts()).toEqual(
        expected.sources.map((s) => s.status),
      );
      expect(await card.locator('summary', { hasText: 'raw vendor body' }).count()).toBe(0);
      await eventually(() =>
        c.page.locator(`[data-testid=ioc-card][data-value="${domain}"] [data-testid=source-card]`).count(),
      ).toBe(3);
      // Watching and raw vendor bodies need ANALYST: a READER is not offered them.
      expect(await c.page.locator('button:has-text("Watch")').count()).toBe(0);
      expect(await c.page.locator('input[name=debug]').count()).toBe(0);
      await screenshot(c.page, 'ioc');
      expect(c.foreign).toEqual([]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }

    const analyst = await createKey(app, 'ANALYST');
    const d = await openConsole(browser, app, `/ioc?q=${encodeURIComponent(ip)}&debug=1`);
    try {
      await signIn(d.page, analyst, 'ANALYST');
      const card = d.page.locator(`[data-testid=ioc-card][data-value="${ip}"]`);
      expect(await d.page.locator('input[name=debug]').isChecked()).toBe(true);
      await eventually(() => card.locator('summary', { hasText: 'raw vendor body' }).count()).toBe(3);
      await card.locator('[data-source=ABUSEIPDB] summary', { hasText: 'raw vendor body' }).click();
      // The JSON tree folds below the first level: unfold AbuseIPDB's "data" object.
      await card
        .locator('[data-source=ABUSEIPDB] .json-view')
        .nth(1)
        .locator('summary', { hasText: 'data:' })
        .click();
      await eventually(() => card.locator('[data-source=ABUSEIPDB] .json-view').nth(1).innerText()).toContain(
        'abuseConfidenceScore',
      );
      expect(await card.locator('button:has-text("Watch")').count()).toBe(1);
      await card.locator('button:has-text("Watch")').click();
      await eventually(() => card.locator('header .badge').allInnerTexts()).toEqual(['IPV4', 'watched']);
      expect(d.problems).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('bulk lookup: one row per pasted line in order, defanged forms refanged, a bad line its own error, a duplicate pointed at', async () => {
    const ip = freshIoc('IPV4').value;
    const url = freshIoc('URL').value.replace(/\?.*$/, '');
    for (const fake of fakes.all) fake.setScenario(ip, 'known-bad');
    const host = new URL(url).host;
    const defangedUrl = url.replace('http://', 'hxxp://').replaceAll('.', '[.]');
    const defangedIp = ip.replaceAll('.', '[.]');
    const dots = (host.match(/\./g) ?? []).length + (new URL(url).pathname.match(/\./g) ?? []).length;
    const reader = await createKey(app, 'READER');
    const c = await openConsole(browser, app, '/ioc');
    try {
      await signIn(c.page, reader, 'READER');
      await c.page.fill(
        'textarea[name=bulk]',
        [defangedUrl, defangedIp, 'not an ioc', `  ${ip}  `, ''].join('\n'),
      );
      await eventually(() => c.page.locator('.bulk-lookup .filters .muted').first().innerText()).toBe(
        '4 lines',
      );
      await c.page.click('button:has-text("Look up all")');
      const rows = c.page.locator('[data-testid=bulk-row]');
      await eventually(() => rows.count()).toBe(4);
      const cells = async () =>
        Promise.all([0, 1, 2, 3].map((i) => rows.nth(i).locator('td').allInnerTexts()));
      // Clean everywhere scores 0 (LOW); known-bad everywhere (0.9·100 + 0.56·80 + 0.95·100) / 2.41 = 95.
      expect(await cells()).toEqual([
        [
          '1',
          defangedUrl,
          url,
          'URL',
          '0',
          'LOW',
          `refanged "hxxp" → "http"; refanged "[.]" → "." (×${dots})`,
          'ok',
        ],
        ['2', defangedIp, ip, 'IPV4', '95', 'CRITICAL', 'refanged "[.]" → "." (×3)', 'ok'],
        ['3', 'not an ioc', '–', '–', '–', '–', '–', 'BAD_USER_INPUT "not an ioc" contains whitespace'],
        ['4', ip, ip, 'IPV4', '95', 'CRITICAL', '–', 'same IOC as #2'],
      ]);
      await screenshot(c.page, 'ioc-bulk');
      // A value opens its card.
      await rows.nth(1).locator('button', { hasText: ip }).click();
      await eventually(() => c.page.url()).toBe(`${app.origin}/ioc?q=${encodeURIComponent(ip)}`);
      await eventually(() =>
        c.page.locator(`[data-testid=ioc-card][data-value="${ip}"] [data-testid=risk-score]`).textContent(),
      ).toBe('95');
      // Every control of the view has an accessible name.
      expect(await c.page.getByLabel(/Indicators, one per line/).count()).toBe(1);
      expect(await c.page.getByLabel('Indicators to look up').count()).toBe(1);
      expect(c.foreign).toEqual([]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('an ADMIN sets a MALICIOUS verdict with a note, a tag and a note: score and breakdown show it; a READER sees it read-only', async () => {
    const ip = freshIoc('IPV4').value;
    const c = await openConsole(browser, app, `/ioc?q=${encodeURIComponent(ip)}`);
    const card = c.page.locator(`[data-testid=ioc-card][data-value="${ip}"]`);
    try {
      await signIn(c.page, app.adminKey, 'ADMIN');
      // Clean everywhere: every sub-score 0, so the fused score is 0 (LOW), with no verdict.
      await eventually(() => card.locator('[data-testid=risk-score]').textContent()).toBe('0');
      expect(await card.locator('[data-testid=ioc-verdict]').innerText()).toBe('none');
      expect(await card.locator('[data-testid=score-breakdown] tr[data-source=ANALYST]').count()).toBe(0);

      await card.locator('select[name=verdict]').selectOption('MALICIOUS');
      await card.locator('textarea[name=verdict-note]').fill('C2 seen in incident 4711');
      await card.locator('button:has-text("Set verdict")').click();
      // MALICIOUS bounds the score from below at 90: max(0, 90) = 90, CRITICAL.
      await eventually(() => card.locator('[data-testid=risk-score]').textContent()).toBe('90');
      expect(await card.locator('.gauge-level').textContent()).toBe('CRITICAL');
      const who = (await c.page.locator('[data-testid=viewer]').innerText()).split(' · ')[0]!;
      const shown = await card.locator('[data-testid=ioc-verdict]').innerText();
      expect(shown.startsWith(`MALICIOUS — C2 seen in incident 4711 · set by ${who} at `), shown).toBe(true);
      expect(shown.endsWith(' · does not expire'), shown).toBe(true);
      const analystRow = card.locator('[data-testid=score-breakdown] tr[data-source=ANALYST] td');
      const cells = await analystRow.allInnerTexts();
      // The verdict's row: its bound as sub-score, weight and reliability 1, contribution 0.
      expect(cells.slice(0, 6)).toEqual(['ANALYST', 'OK', '90', '1.00', '1.00', '0.0']);
      expect(cells[6]?.startsWith(`analyst verdict MALICIOUS set by "${who}" (key `), cells[6]).toBe(true);

      await card.locator('input[name=new-tags]').fill('c2, Incident-4711');
      await card.locator('button:has-text("Add")').click();
      await eventually(() => card.locator('[data-testid=ioc-tags] .badge').allInnerTexts()).toEqual([
        'c2',
        'incident-4711',
      ]);
      await card.locator('textarea[name=ioc-note]').fill('Blocked at the edge on 3 Dec');
      await card.locator('button:has-text("Save note")').click();
      await eventually(() => card.locator('[data-testid=ioc-note]').innerText()).toBe(
        'Blocked at the edge on 3 Dec',
      );
      await card.locator('[data-testid=score-breakdown]').scrollIntoViewIfNeeded();
      await screenshot(c.page, 'ioc-verdict');
      // Every control of the panel has an accessible name (a wrapping label, aria-label or text).
      const unlabelled = await card
        .locator('[data-testid=curation]')
        .locator('button, input, select, textarea')
        .evaluateAll((els: ControlElement[]) =>
          els
            .filter((el) => !el.closest('label') && !el.getAttribute('aria-label') && !el.textContent?.trim())
            .map((el) => el.outerHTML),
        );
      expect(unlabelled).toEqual([]);
      await card.getByLabel('Remove tag c2').click();
      await eventually(() => card.locator('[data-testid=ioc-tags] .badge').allInnerTexts()).toEqual([
        'incident-4711',
      ]);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }

    const stored = await app.gql<{
      ioc: { riskScore: number; tags: string[]; note: string; verdict: { verdict: string; note: string } };
    }>('query($v: String!) { ioc(value: $v) { riskScore tags note verdict { verdict note } } }', { v: ip });
    expect(stored.data?.ioc).toEqual({
      riskScore: 90,
      tags: ['incident-4711'],
      note: 'Blocked at the edge on 3 Dec',
      verdict: { verdict: 'MALICIOUS', note: 'C2 seen in incident 4711' },
    });

    const reader = await createKey(app, 'READER');
    const r = await openConsole(browser, app, `/ioc?q=${encodeURIComponent(ip)}`);
    const readerCard = r.page.locator(`[data-testid=ioc-card][data-value="${ip}"]`);
    try {
      await signIn(r.page, reader, 'READER');
      await eventually(() => readerCard.locator('[data-testid=ioc-verdict]').innerText()).toMatch(
        /^MALICIOUS — C2 seen in incident 4711/,
      );
      expect(await readerCard.locator('[data-testid=risk-score]').textContent()).toBe('90');
      expect(await readerCard.locator('[data-testid=ioc-tags] .badge').allInnerTexts()).toEqual([
        'incident-4711',
      ]);
      expect(await readerCard.locator('[data-testid=ioc-note]').innerText()).toBe(
        'Blocked at the edge on 3 Dec',
      );
      // No edit controls at all in the curation panel of a READER.
      const panel = readerCard.locator('[data-testid=curation]');
      expect(await panel.locator('button, input, select, textarea').count()).toBe(0);
      expect(r.problems).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it('an ANALYST sets a SUSPICIOUS verdict that expires, then clears it; a bad tag shows the API error where it was typed', async () => {
    const ip = freshIoc('IPV4').value;
    const analyst = await createKey(app, 'ANALYST');
    // 30 days ahead, as a datetime-local field takes it (the browser's local time, minutes).
    const at = new Date(Date.now() + 30 * 86_400_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
    const c = await openConsole(browser, app, `/ioc?q=${encodeURIComponent(ip)}`);
    const card = c.page.locator(`[data-testid=ioc-card][data-value="${ip}"]`);
    try {
      await signIn(c.page, analyst, 'ANALYST');
      await eventually(() => card.locator('[data-testid=risk-score]').textContent()).toBe('0');
      await card.locator('select[name=verdict]').selectOption('SUSPICIOUS');
      await card.locator('input[name=verdict-expires]').fill(local);
      await card.locator('button:has-text("Set verdict")').click();
      // SUSPICIOUS bounds the score from below at 50: max(0, 50) = 50, HIGH.
      await eventually(() => card.locator('[data-testid=risk-score]').textContent()).toBe('50');
      expect(await card.locator('.gauge-level').textContent()).toBe('HIGH');
      const stored = await app.gql<{
        ioc: { verdict: { verdict: string; note: string; expiresAt: string } };
      }>('query($v: String!) { ioc(value: $v) { verdict { verdict note expiresAt } } }', { v: ip });
      expect(stored.data?.ioc.verdict).toEqual({
        verdict: 'SUSPICIOUS',
        note: '',
        expiresAt: new Date(local).toISOString(),
      });
      expect(await card.locator('[data-testid=ioc-verdict]').innerText()).toMatch(
        /^SUSPICIOUS · set by .+ · expires /,
      );

      await card.locator('button:has-text("Clear verdict")').click();
      await eventually(() => card.locator('[data-testid=ioc-verdict]').innerText()).toBe('none');
      expect(await card.locator('[data-testid=risk-score]').textContent()).toBe('0');
      expect(await card.locator('[data-testid=score-breakdown] tr[data-source=ANALYST]').count()).toBe(0);

      // A tag must start with a letter or digit: the API refuses it and the panel says why.
      await card.locator('input[name=new-tags]').fill('-bad');
      await card.locator('button:has-text("Add")').click();
      await eventually(() => card.locator('[data-testid=curation] [role=alert]').innerText()).toMatch(
        /^Tagging failed: .+BAD_USER_INPUT/s,
      );
      expect(await card.locator('[data-testid=ioc-tags] .badge').count()).toBe(0);
      expect(c.problems).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
