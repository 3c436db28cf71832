import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

// `ss` shows a listening socket's accept-queue bound (its backlog) as Send-Q.
const SS = ['/usr/bin/ss', '/bin/ss', '/usr/sbin/ss', '/sbin/ss'].find((p) => existsSync(p));
const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());

function listenBacklogOf(app: TestApp): number {
  const port = new URL(app.url).port;
  const out = execFileSync(SS!, ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const [state, , sendQ] = out.split(/\s+/);
  expect(state).toBe('LISTEN');
  return Number(sendQ);
}

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe.skipIf(!SS && !process.env.CI)('LISTEN_BACKLOG', () => {
  it('the listening socket queues 4,096 connections by default (as far as the system allows)', async () => {
    app = await startTestApp('listen_backlog_default');
    expect(listenBacklogOf(app)).toBe(Math.min(4096, somaxconn));
  });

  it('takes the configured bound', async () => {
    app = await startTestApp('listen_backlog_set', { LISTEN_BACKLOG: '1234' });
    expect(listenBacklogOf(app)).toBe(Math.min(1234, somaxconn));
  });
});
