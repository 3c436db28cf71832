/**
 * Drives the console in Debian's Chromium (playwright-core): one browser per test file,
 * a fresh context (storage, cookies) per page, every request to another host blocked
 * and recorded, and page errors and CSP violations collected.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { fromRoot } from '../../src/platform/paths.js';
import { isCI } from '../helpers/services.js';
import type { TestApp } from '../helpers/test-app.js';

export const chromiumPath = '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);

if (!hasChromium && isCI) {
  throw new Error(`${chromiumPath} is missing: CI must run scripts/install-chromium.sh before the tests`);
}
if (!hasChromium) {
  console.warn(`[skip] console browser tests: ${chromiumPath} is missing; run scripts/install-chromium.sh`);
}

/** Browser steps on a shared two-core machine: poll generously, fail clearly. */
export const eventually = <T>(read: () => T | Promise<T>) =>
  expect.poll(read, { timeout: 15_000, interval: 100 });

/** `npm test` builds in pretest; a bare `npx vitest run` does not (the build skips itself when current). */
export async function buildWeb(): Promise<void> {
  await promisify(execFile)(process.execPath, [fromRoot('web', 'build.mjs')], { cwd: fromRoot() });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
  });
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Requests to any host but the server's. */
  foreign: string[];
  /** Uncaught page errors and CSP violations. */
  problems: string[];
  close(): Promise<void>;
}

export async function openConsole(browser: Browser, app: TestApp, path = '/'): Promise<ConsolePage> {
  const host = new URL(app.origin).host;
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const result: ConsolePage = { page, context, foreign: [], problems: [], close: () => context.close() };
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.host === host) return route.continue();
    result.foreign.push(url.href);
    return route.abort('blockedbyclient');
  });
  page.on('websocket', (ws) => {
    if (new URL(ws.url()).host !== host) result.foreign.push(ws.url());
  });
  page.on('pageerror', (error) => result.problems.push(`pageerror: ${error.message}`));
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) result.problems.push(msg.text());
  });
  const response = await page.goto(`${app.origin}${path}`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
  return result;
}

/** Types the key into the console's form; resolves once the shell shows the key's role. */
export async function signIn(page: Page, key: string, role: string): Promise<void> {
  await page.fill('#tw-console-key', key);
  await page.click('button:has-text("Open console")');
  await eventually(() => page.locator('[data-testid=viewer]').innerText()).toContain(role);
}

export async function createKey(app: TestApp, role: string): Promise<string> {
  const res = await app.gql<{ createApiKey: { secret: string } }>(
    'mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret } }',
    { n: `console-${role.toLowerCase()}`, r: role },
  );
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createApiKey.secret;
}

/**
 * Screenshots for the README: written to docs/screenshots/ when UPDATE_SCREENSHOTS=1
 * (so an ordinary `npm test` leaves the tree clean), else to a temp directory.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? fromRoot('docs', 'screenshots')
      : join(tmpdir(), 'tw-console-shots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}
