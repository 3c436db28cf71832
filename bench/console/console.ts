/**
 * The console in Chromium: `npx tsx bench/console/console.ts` (after `npm run web:build`).
 *
 * 1. JS and CSS shipped per view (gzip -9 of every file the page loaded, as a
 *    compressing proxy would send them; the server itself sends them uncompressed).
 * 2. Time to first meaningful view: navigation start → the view's own content on
 *    screen (key already in sessionStorage), median of RUNS cold loads per view.
 * 3. Live view under RATE threat events/s for SECONDS s, ingested through the API in
 *    batches every 100 ms: long tasks (PerformanceObserver), frames (rAF gaps),
 *    heap after a forced GC before and after, and how many events the page counted.
 *
 * The server runs in this process (startTestApp, its own database); the browser is
 * Debian's Chromium. Env: CONSOLE_BENCH_RATE (1000), CONSOLE_BENCH_SECONDS (30),
 * CONSOLE_BENCH_SKIP_VIEWS=1 (Live phase only), CONSOLE_BENCH_PROFILE=1 (where the page's
 * main thread spent its time during the Live phase, to tell the page's own work from a
 * renderer starved by other load).
 */
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../../test/helpers/test-app.js';
import { buildWeb, launchChromium } from '../../test/web/console-harness.js';

const RATE = Number(process.env.CONSOLE_BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.CONSOLE_BENCH_SECONDS ?? 30);
const RUNS = 5;
const TICK_MS = 100;

/** What proves each view is usable, not just a spinner. */
const readyOf: Record<string, string> = {
  live: '[data-testid=live-counters]',
  map: 'svg.world path.country',
  ioc: 'textarea[name=indicators]',
  events: '[data-testid=events-table]',
  crowdsec: '[data-testid=decisions]',
  stats: '[data-testid=stat-tiles]',
  admin: '[data-testid=health-components]',
};

async function openSignedIn(browser: Browser, app: TestApp) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context.addInitScript({
    content: `sessionStorage.setItem('threatwire:console:apiKey', ${JSON.stringify(app.adminKey)});`,
  });
  const page = await context.newPage();
  const bodies: { url: string; bytes: number; gzip: number }[] = [];
  page.on('response', (response) => {
    const type = response.request().resourceType();
    if (type !== 'script' && type !== 'stylesheet') return;
    void response
      .body()
      .then((body) =>
        bodies.push({ url: response.url(), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length }),
      )
      .catch(() => undefined);
  });
  return { context, page, bodies };
}

async function firstView(browser: Browser, app: TestApp, view: string) {
  const times: number[] = [];
  let shipped = { js: 0, css: 0, files: 0 };
  for (let run = 0; run < RUNS; run++) {
    const { context, page, bodies } = await openSignedIn(browser, app);
    await page.goto(`${app.origin}/${view}`);
    await page.locator(readyOf[view]!).first().waitFor({ timeout: 30_000 });
    times.push(await page.evaluate(() => performance.now()));
    await page.waitForLoadState('networkidle');
    shipped = {
      js: bodies.filter((b) => b.url.endsWith('.js')).reduce((s, b) => s + b.gzip, 0),
      css: bodies.filter((b) => b.url.endsWith('.css')).reduce((s, b) => s + b.gzip, 0),
      files: bodies.length,
    };
    await context.close();
  }
  times.sort((a, b) => a - b);
  return { view, medianMs: Math.round(times[Math.floor(RUNS / 2)]!), ...shipped };
}

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize / 1024 / 1024;
}

interface CpuProfile {
  nodes: {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }[];
}

/** CONSOLE_BENCH_PROFILE=1: where the page's main thread spent its samples (self time). */
function printProfile(profile: CpuProfile): void {
  const byFrame = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.split('/').pop() ?? ''}:${lineNumber}:${columnNumber}`;
    byFrame.set(key, (byFrame.get(key) ?? 0) + hits);
  }
  const top = [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 20);
  console.table(top.map(([frame, hits]) => ({ frame, share: `${((100 * hits) / total).toFixed(1)} %` })));
}

async function liveUnderLoad(browser: Browser, app: TestApp) {
  const { context, page } = await openSignedIn(browser, app);
  await page.goto(`${app.origin}/live`);
  await page.locator(readyOf.live!).waitFor();
  await page.locator('[data-testid=socket-status]', { hasText: 'connected' }).waitFor();
  const heapBefore = await heapMb(page);
  const profiler =
    process.env.CONSOLE_BENCH_PROFILE === '1' ? await page.context().newCDPSession(page) : undefined;
  if (profiler) {
    await profiler.send('Profiler.enable');
    await profiler.send('Profiler.start');
  }
  // A string, not a function: tsx's transform would wrap inner functions in a helper
  // that does not exist in the page.
  await page.evaluate(`(() => {
    const w = window;
    w.__bench = { longTasks: [], frames: 0, gaps: [] };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__bench.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
    let last = performance.now();
    const tick = (now) => {
      w.__bench.frames++;
      if (now - last > 34) w.__bench.gaps.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);

  const perTick = Math.round((RATE * TICK_MS) / 1000);
  let sent = 0;
  let failed = 0;
  let seq = 0;
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  // Batches leave on a fixed schedule (not one after another), up to 8 in flight.
  for (let tick = 0; Date.now() - started < SECONDS * 1000; tick++) {
    const due = started + tick * TICK_MS;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    if (inFlight.size >= 8) await Promise.race(inFlight);
    const inputs = Array.from({ length: perTick }, () => {
      const n = ++seq;
      return {
        sourceIp: `45.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255 || 1}`,
        threatType: 'bench-live',
        severity: (n % 10) + 1,
        externalId: `bench-${started}-${n}`,
      };
    });
    const request = app
      .gql<{ ingestThreatEvents: { accepted: number } }>(
        'mutation($i: [ThreatEventInput!]!) { ingestThreatEvents(inputs: $i) { accepted } }',
        { i: inputs },
      )
      .then((res) => {
        if (res.data) sent += res.data.ingestThreatEvents.accepted;
        else failed += perTick;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  const elapsed = (Date.now() - started) / 1000;
  await page.waitForTimeout(1000); // let the last frames arrive before reading the counter
  const stats = await page.evaluate<{ longTasks: number[]; frames: number; gaps: number[] }>(
    'window.__bench',
  );
  const shown = await page.locator('p', { hasText: 'received since this view opened' }).innerText();
  if (profiler) printProfile((await profiler.send('Profiler.stop')).profile);
  const heapAfter = await heapMb(page);
  await context.close();
  const expectedFrames = (elapsed + 1) * 60;
  return {
    rate: RATE,
    seconds: Number(elapsed.toFixed(1)),
    ingested: sent,
    ingestFailed: failed,
    achievedRate: Math.round(sent / elapsed),
    pageCounter: shown.split(' ')[0],
    longTasks: stats.longTasks.length,
    longestTaskMs: Math.round(Math.max(0, ...stats.longTasks)),
    longTasksOver100ms: stats.longTasks.filter((d) => d > 100).length,
    frames: stats.frames,
    framesExpectedAt60Hz: Math.round(expectedFrames),
    gapsOver34ms: stats.gaps.length,
    worstGapMs: Math.round(Math.max(0, ...stats.gaps)),
    heapBeforeMb: Number(heapBefore.toFixed(1)),
    heapAfterMb: Number(heapAfter.toFixed(1)),
  };
}

async function main() {
  await buildWeb();
  const app = await startTestApp(`console_bench_${process.pid}`);
  const browser = await launchChromium();
  try {
    const views = [];
    for (const view of Object.keys(readyOf)) views.push(await firstView(browser, app, view));
    console.log('First meaningful view (median of %d cold loads) and gzip -9 bytes shipped:', RUNS);
    console.table(views);
    console.log(`Live view at ${RATE} events/s for ${SECONDS} s:`);
    console.table([await liveUnderLoad(browser, app)]);
  } finally {
    await browser.close();
    await app.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
