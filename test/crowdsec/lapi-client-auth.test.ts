/**
 * Credentials and outages against a real LAPI: wrong keys, a LAPI restarted with a
 * new JWT secret, a stopped LAPI. This file restarts its LAPI, so it has its own.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LapiClient, type LapiClientOptions } from '../../src/crowdsec/lapi-client.js';
import { LapiError } from '../../src/crowdsec/lapi-types.js';
import { lapiOrSkip, startLapi, type Lapi } from '../helpers/crowdsec-lapi.js';

const bins = lapiOrSkip('CrowdSec LAPI credentials and outages');

/** A debug-level logger whose lines the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const count = (text: string) => lines.filter((l) => l.includes(text)).length;
  return {
    logger: pino({ level: 'debug' }, sink),
    lines,
    logins: () => count('logged in'),
    retries: () => count('LAPI request failed; retrying'),
  };
}

describe.skipIf(!bins)('LapiClient credentials and outages (real LAPI)', () => {
  let lapi: Lapi;
  const options = (over: Partial<LapiClientOptions> = {}): LapiClientOptions => ({
    baseUrl: lapi.url,
    bouncerKey: lapi.bouncerKey,
    machineId: lapi.machineId,
    machinePassword: lapi.machinePassword,
    userAgent: 'threatwire/0.1.0',
    timeoutMs: 5_000,
    logger: pino({ level: 'silent' }),
    ...over,
  });

  beforeAll(async () => {
    lapi = await startLapi();
  });
  afterAll(async () => {
    await lapi?.stop();
  });

  it('reports a wrong bouncer key as UNAUTHORIZED, naming the key', async () => {
    const client = new LapiClient(options({ bouncerKey: 'not-the-key' }));
    const err = await client.decisionsStream({ startup: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LapiError);
    // 1.4 answers 403 {"message":"access forbidden"} to an unknown key.
    expect(err).toMatchObject({ kind: 'UNAUTHORIZED', status: 403, lapiMessage: 'access forbidden' });
    expect((err as Error).message).toMatch(/bouncer API key/);
  });

  it('reports a wrong machine password as UNAUTHORIZED, naming the machine', async () => {
    const client = new LapiClient(options({ machinePassword: 'wrong-password' }));
    const err = await client.alerts({ limit: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'UNAUTHORIZED',
      status: 401,
      lapiMessage: 'incorrect Username or Password',
    });
    expect((err as Error).message).toContain(`machine "${lapi.machineId}"`);
    expect((err as Error).message).toMatch(/password/);
  });

  it('says which credentials are missing instead of calling the LAPI', async () => {
    const client = new LapiClient(options({ bouncerKey: undefined, machinePassword: undefined }));
    await expect(client.decisionsStream({ startup: true })).rejects.toMatchObject({ kind: 'NOT_CONFIGURED' });
    await expect(client.alerts()).rejects.toMatchObject({
      kind: 'NOT_CONFIGURED',
      message: /machine credentials/,
    });
  });

  it('shares one login between concurrent callers and logs no secret', async () => {
    const log = capturingLogger();
    const client = new LapiClient(options({ logger: log.logger }));
    await Promise.all(Array.from({ length: 5 }, () => client.alerts({ limit: 1 })));
    expect(log.logins()).toBe(1);
    await client.alerts({ limit: 1 });
    expect(log.logins()).toBe(1);
    expect(log.lines.join('\n')).not.toContain(lapi.machinePassword);
  });

  it('logs in again by itself after the LAPI restarts with a new JWT secret', async () => {
    const log = capturingLogger();
    const client = new LapiClient(options({ logger: log.logger }));
    await client.alerts({ limit: 1 });
    expect(log.logins()).toBe(1);

    await lapi.restart(); // same secret: the token survives
    await client.alerts({ limit: 1 });
    expect(log.logins()).toBe(1);

    await lapi.restart({ newJwtSecret: true });
    await expect(client.alerts({ limit: 1 })).resolves.toBeInstanceOf(Array);
    expect(log.logins()).toBe(2);
    // Bouncer keys live in the database and survive a restart.
    await expect(client.decisionsStream({ startup: true })).resolves.toHaveProperty('new');
  });

  it('fails with UNREACHABLE once the LAPI is gone, retrying only what is safe to repeat', async () => {
    const doomed = await startLapi();
    const log = capturingLogger();
    const client = new LapiClient({
      ...options({ logger: log.logger, retries: 2 }),
      baseUrl: doomed.url,
      bouncerKey: doomed.bouncerKey,
      machineId: doomed.machineId,
      machinePassword: doomed.machinePassword,
    });
    await client.alerts({ limit: 1 }); // holds a valid token
    await doomed.stop();

    for (const [call, retries] of [
      [() => client.alerts({ limit: 1 }), 2], // a read: retried twice
      [() => client.decisionsStream({ startup: false }), 0], // a delta: never repeated
      [() => client.login(), 2], // logging in twice is harmless
    ] as const) {
      const before = log.retries();
      await expect(call()).rejects.toMatchObject({ kind: 'UNREACHABLE', message: /ECONNREFUSED/ });
      expect(log.retries() - before).toBe(retries);
    }
  });
});
