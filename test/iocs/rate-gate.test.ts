import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, createMemoryRateGate } from '../../src/iocs/sources/rate-gate.js';
import { retryAtFrom } from '../../src/iocs/sources/retry-after.js';

describe('memory rate gate', () => {
  it('VirusTotal public defaults: 4 per minute, then deferred until the window resets', async () => {
    const gate = createMemoryRateGate(DEFAULT_RATE_LIMITS);
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await gate.tryAcquire('VIRUSTOTAL'));
    expect(decisions.filter((d) => d.ok)).toHaveLength(4);
    const denied = decisions[4];
    expect(denied?.ok).toBe(false);
    if (denied && !denied.ok) {
      expect(denied.retryAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
      expect(denied.retryAt.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    }
  });

  it('a denial by a short window does not spend the long window (points are refunded)', async () => {
    // Day window listed first so it is consumed before the short one refuses.
    const gate = createMemoryRateGate({
      VIRUSTOTAL: [
        { points: 2, durationSeconds: 86_400 },
        { points: 1, durationSeconds: 1 },
      ],
    });
    expect((await gate.tryAcquire('VIRUSTOTAL')).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect((await gate.tryAcquire('VIRUSTOTAL')).ok).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await gate.tryAcquire('VIRUSTOTAL')).ok).toBe(true); // the day still had its second point
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const dayGone = await gate.tryAcquire('VIRUSTOTAL');
    expect(dayGone.ok).toBe(false);
    if (!dayGone.ok) expect(dayGone.retryAt.getTime()).toBeGreaterThan(Date.now() + 86_000_000);
  });

  it('sources have separate budgets and OTX is unlimited by default', async () => {
    const gate = createMemoryRateGate();
    for (let i = 0; i < 4; i++) await gate.tryAcquire('VIRUSTOTAL');
    expect((await gate.tryAcquire('VIRUSTOTAL')).ok).toBe(false);
    expect((await gate.tryAcquire('ABUSEIPDB')).ok).toBe(true);
    for (let i = 0; i < 50; i++) expect((await gate.tryAcquire('OTX')).ok).toBe(true);
  });

  it('markExhausted blocks a source until the given time', async () => {
    const gate = createMemoryRateGate({});
    const until = new Date(Date.now() + 1_200);
    await gate.markExhausted('OTX', until);
    const denied = await gate.tryAcquire('OTX');
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(Math.abs(denied.retryAt.getTime() - until.getTime())).toBeLessThan(1_000);
    expect((await gate.tryAcquire('ABUSEIPDB')).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await gate.tryAcquire('OTX')).ok).toBe(true);
  });
});

describe('retryAtFrom', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  it('reads delta-seconds', () => {
    expect(retryAtFrom({ 'retry-after': '120' }, now).toISOString()).toBe('2026-06-15T12:02:00.000Z');
  });
  it('reads an HTTP date', () => {
    expect(retryAtFrom({ 'retry-after': 'Mon, 15 Jun 2026 12:05:00 GMT' }, now).toISOString()).toBe(
      '2026-06-15T12:05:00.000Z',
    );
  });
  it('falls back to X-RateLimit-Reset, then to one minute', () => {
    const reset = String(now.getTime() / 1000 + 3600);
    expect(retryAtFrom({ 'x-ratelimit-reset': reset }, now).toISOString()).toBe('2026-06-15T13:00:00.000Z');
    expect(retryAtFrom({ 'retry-after': 'soon' }, now).toISOString()).toBe('2026-06-15T12:01:00.000Z');
  });
  it('clamps nonsense: past dates to 1 s, far futures to a day', () => {
    expect(retryAtFrom({ 'retry-after': '0' }, now).getTime() - now.getTime()).toBe(1000);
    expect(retryAtFrom({ 'retry-after': '9999999' }, now).getTime() - now.getTime()).toBe(86_400_000);
  });
});
