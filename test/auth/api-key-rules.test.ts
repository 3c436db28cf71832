/**
 * ApiKeyService and its KeyCache rule by rule, against an in-memory repository: what
 * each presented key costs (lookups), which outcome is counted, the exact error a client
 * gets, what is logged, and where each cache window ends (to the millisecond, on a fake
 * clock).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyService, hashKey } from '../../src/auth/api-key-service.js';
import type { AuthOutcome, KeyChange } from '../../src/auth/api-key-types.js';
import { AppError } from '../../src/platform/errors.js';
import { MemoryEventBus, type EventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import type { FailureBudget } from '../../src/platform/rate-limiter.js';
import { MemoryKeyRepo } from './memory-key-repo.js';

afterEach(() => vi.useRealTimers());

interface LogLine {
  level: number;
  msg: string;
  component?: string;
  [k: string]: unknown;
}
const WARN = 40;
const INFO = 30;
const ERROR = 50;

/** A failure budget that answers `wait` for every address and records what it was asked. */
class FakeBudget implements FailureBudget {
  asked: string[] = [];
  recorded: string[] = [];
  failRecord = false;
  constructor(public wait = 0) {}
  retryAfter(key: string) {
    this.asked.push(key);
    return Promise.resolve(this.wait);
  }
  record(key: string) {
    this.recorded.push(key);
    return this.failRecord ? Promise.reject(new Error('redis gone')) : Promise.resolve();
  }
}

function setup(
  opts: { cacheTtlMs?: number; staleIfErrorMs?: number; failures?: FailureBudget; bus?: EventBus } = {},
) {
  const repo = new MemoryKeyRepo();
  const logs: LogLine[] = [];
  const logger = createLogger(
    { log: { level: 'debug', pretty: false } },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const outcomes: AuthOutcome[] = [];
  const bus = opts.bus ?? new MemoryEventBus();
  const { bus: _bus, ...rest } = opts;
  const svc = new ApiKeyService(repo, bus, logger, { ...rest, onOutcome: (o) => outcomes.push(o) });
  return { repo, svc, logs, outcomes, bus };
}

/** The error `p` rejects with, as plain data. */
async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { code: err.code, message: err.message, details: err.details };
  }
  return 'no error';
}
const invalid = { code: 'UNAUTHENTICATED', message: 'Invalid API key', details: {} };
const revoked = { code: 'UNAUTHENTICATED', message: 'This API key has been revoked', details: {} };
const unavailable = {
  code: 'UPSTREAM_UNAVAILABLE',
  message: 'API keys cannot be verified right now (the database is unavailable); retry later',
  details: { retryAfterSeconds: 5 },
};
const randomKey = (length = 46) => `tw_${randomBytes(256).toString('base64url')}`.slice(0, length);
const messages = (logs: LogLine[]) => logs.map((l) => [l.level, l.msg]);

describe('presented keys', () => {
  it('a missing key is refused before anything else, with a message saying how to send one', async () => {
    const { svc, repo, outcomes } = setup({ failures: new FakeBudget(30) });
    const required = {
      code: 'UNAUTHENTICATED',
      message: 'An API key is required: send "Authorization: Bearer <key>" or "X-API-Key"',
      details: {},
    };
    expect(await refusal(svc.verify(undefined, '192.0.2.1'))).toEqual(required);
    expect(await refusal(svc.verify('', '192.0.2.1'))).toEqual(required);
    expect(repo.lookups).toBe(0);
    expect(outcomes).toEqual([]);
  });

  it('looks up keys of 24 to 256 characters only', async () => {
    const { svc, repo, outcomes } = setup();
    expect(await refusal(svc.verify(randomKey(23)))).toEqual(invalid);
    expect(await refusal(svc.verify(randomKey(257)))).toEqual(invalid);
    expect(repo.lookups).toBe(0);
    expect(await refusal(svc.verify(randomKey(24)))).toEqual(invalid);
    expect(await refusal(svc.verify(randomKey(256)))).toEqual(invalid);
    expect(repo.lookups).toBe(2);
    expect(outcomes).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
  });

  it('counts "ok" once per lookup; a fresh key is admitted from memory without an outcome', async () => {
    const { svc, repo, outcomes } = setup();
    const { secret, record } = await svc.create('k', 'ANALYST');
    const principal = { keyId: record.id, name: 'k', role: 'ANALYST', unlimited: false, feedsOnly: false };
    expect(await svc.verify(secret)).toEqual(principal);
    expect(await svc.verify(secret)).toEqual(principal);
    expect(repo.lookups).toBe(1);
    expect(outcomes).toEqual(['ok']);
  });

  it('an unknown key is looked up once, then refused from memory', async () => {
    const { svc, repo, outcomes } = setup();
    const key = randomKey();
    expect(await refusal(svc.verify(key))).toEqual(invalid);
    expect(await refusal(svc.verify(key))).toEqual(invalid);
    expect(repo.lookups).toBe(1);
    expect(outcomes).toEqual(['invalid', 'invalid']);
  });

  it('a key revoked in the database is refused as revoked, then from memory', async () => {
    const { svc, repo, outcomes } = setup();
    const { secret, record } = await svc.create('k', 'READER');
    await repo.revoke(record.id);
    expect(await refusal(svc.verify(secret))).toEqual(revoked);
    expect(await refusal(svc.verify(secret))).toEqual(revoked);
    expect(repo.lookups).toBe(1);
    expect(outcomes).toEqual(['revoked', 'revoked']);
    expect(svc.knowsRevoked(record.hash)).toBe(true);
  });

  it('hashes the key as UTF-8', () => {
    const expected = createHash('sha256')
      .update(Buffer.from([0x74, 0x77, 0x5f, 0xc3, 0xa9]))
      .digest('hex');
    expect(hashKey('tw_é')).toBe(expected);
  });
});

describe('failure budget per address', () => {
  it('refuses an address over budget without a lookup, naming the wait', async () => {
    const failures = new FakeBudget(30);
    const { svc, repo, outcomes } = setup({ failures });
    expect(await refusal(svc.verify(randomKey(), '192.0.2.1'))).toEqual({
      code: 'RATE_LIMITED',
      message: 'Too many failed authentications from this address; retry in 30 s',
      details: { retryAfterSeconds: 30 },
    });
    expect(await refusal(svc.verify(randomKey(10), '192.0.2.1'))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(repo.lookups).toBe(0);
    expect(outcomes).toEqual(['rate_limited', 'rate_limited']);
    expect(failures.asked).toEqual(['192.0.2.1', '192.0.2.1']);
  });

  it('records each failure against the address; without an address nothing is asked or recorded', async () => {
    const failures = new FakeBudget(0);
    const { svc } = setup({ failures });
    expect(await refusal(svc.verify(randomKey(), '192.0.2.1'))).toEqual(invalid);
    expect(await refusal(svc.verify(randomKey(10), '192.0.2.2'))).toEqual(invalid);
    expect(failures.recorded).toEqual(['192.0.2.1', '192.0.2.2']);
    failures.wait = 30;
    expect(await refusal(svc.verify(randomKey()))).toEqual(invalid);
    expect(failures.asked).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(failures.recorded).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('without a budget an address changes nothing', async () => {
    const { svc } = setup();
    expect(await refusal(svc.verify(randomKey(), '192.0.2.1'))).toEqual(invalid);
  });

  it('a failure that cannot be counted is logged, and the key is still refused', async () => {
    const failures = new FakeBudget(0);
    failures.failRecord = true;
    const { svc, logs } = setup({ failures });
    expect(await refusal(svc.verify(randomKey(), '192.0.2.1'))).toEqual(invalid);
    expect(logs).toEqual([
      expect.objectContaining({
        level: WARN,
        component: 'api-keys',
        err: 'redis gone',
        msg: 'could not count a failed authentication',
      }),
    ]);
  });

  it('a key verified before is exempt: someone over budget holding a valid key gets in', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const failures = new FakeBudget(0);
    const { svc, repo } = setup({ failures });
    const { secret } = await svc.create('k', 'READER');
    await svc.verify(secret, '192.0.2.1');
    failures.wait = 30;
    vi.setSystemTime(Date.now() + 10_000); // no longer fresh: looked up again
    expect((await svc.verify(secret, '192.0.2.1')).name).toBe('k');
    expect(repo.lookups).toBe(2);
    expect(failures.asked).toEqual(['192.0.2.1']); // only for the first, unknown, presentation
  });
});

describe('cache windows (fake clock)', () => {
  it('trusts a verified key for 10 s by default: looked up again at exactly 10,000 ms', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { svc, repo } = setup();
    const { secret } = await svc.create('k', 'READER');
    const t0 = Date.now();
    await svc.verify(secret);
    vi.setSystemTime(t0 + 9_999);
    await svc.verify(secret);
    expect(repo.lookups).toBe(1);
    vi.setSystemTime(t0 + 10_000);
    await svc.verify(secret);
    expect(repo.lookups).toBe(2);
  });

  it('serves a known key through an outage for 600 s by default, not at exactly 600,000 ms', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { svc, repo, outcomes } = setup();
    const { secret } = await svc.create('k', 'READER');
    const t0 = Date.now();
    await svc.verify(secret);
    repo.down = true;
    vi.setSystemTime(t0 + 599_999);
    expect((await svc.verify(secret)).name).toBe('k');
    vi.setSystemTime(t0 + 600_000);
    expect(await refusal(svc.verify(secret))).toEqual(unavailable);
    expect(outcomes).toEqual(['ok', 'stale', 'unavailable']);
  });

  it('keeps a stale entry for the longer of the two windows (real clock: 20 ms fresh, 60 s stale)', async () => {
    const { svc, repo } = setup({ cacheTtlMs: 20, staleIfErrorMs: 60_000 });
    const { secret } = await svc.create('k', 'READER');
    await svc.verify(secret);
    // Waits out the 20 ms fresh window (a lower bound: a slow machine only waits longer).
    await new Promise((r) => setTimeout(r, 50));
    repo.down = true;
    expect((await svc.verify(secret)).name).toBe('k');
  });
});

describe('outages', () => {
  it('logs the outage once and the recovery once', async () => {
    const { svc, repo, logs } = setup();
    const { secret } = await svc.create('k', 'READER');
    logs.length = 0;
    repo.down = true;
    for (let i = 0; i < 3; i++) expect(await refusal(svc.verify(randomKey()))).toEqual(unavailable);
    expect(await refusal(svc.verify(secret))).toEqual(unavailable);
    repo.down = false;
    expect((await svc.verify(secret)).name).toBe('k');
    await svc.verify(randomKey()).catch(() => undefined);
    expect(messages(logs)).toEqual([
      [WARN, 'API keys cannot be verified: the database is unavailable'],
      [INFO, 'API keys can be verified again'],
    ]);
    expect(logs[0]).toMatchObject({ component: 'api-keys', err: 'connect ECONNREFUSED 127.0.0.1:5432' });
    // A second outage is logged again.
    repo.down = true;
    await svc.verify(randomKey()).catch(() => undefined);
    expect(messages(logs).slice(2)).toEqual([
      [WARN, 'API keys cannot be verified: the database is unavailable'],
    ]);
  });
});

describe('key changes', () => {
  it('a change that is not a revocation makes the next use look the key up again', async () => {
    const { svc, repo } = setup({ cacheTtlMs: 600_000 });
    const { secret, record } = await svc.create('k', 'READER');
    await svc.verify(secret);
    const seen: KeyChange[] = [];
    svc.onKeyChange((c) => seen.push(c));
    svc.applyChange({ keyId: record.id, hash: record.hash, revoked: false });
    svc.applyChange({ keyId: record.id, hash: record.hash, revoked: false });
    expect((await svc.verify(secret)).name).toBe('k');
    expect(repo.lookups).toBe(2);
    expect(seen).toHaveLength(2);
  });

  it('a revocation is applied once; listeners can unsubscribe; a failing listener is logged', async () => {
    const { svc, logs } = setup();
    const { record } = await svc.create('k', 'READER');
    logs.length = 0;
    const seen: string[] = [];
    svc.onKeyChange(() => {
      throw new Error('listener bug');
    });
    const off = svc.onKeyChange((c) => seen.push(`a:${c.keyId}`));
    svc.onKeyChange((c) => seen.push(`b:${c.keyId}`));
    const change = { keyId: record.id, hash: record.hash, revoked: true };
    svc.applyChange(change);
    svc.applyChange(change);
    off();
    svc.applyChange({ ...change, hash: 'f'.repeat(64) });
    expect(seen).toEqual([`a:${record.id}`, `b:${record.id}`, `b:${record.id}`]);
    expect(messages(logs)).toEqual([
      [ERROR, 'key change listener failed'],
      [ERROR, 'key change listener failed'],
    ]);
    expect(logs[0]).toMatchObject({ component: 'api-keys', err: { message: 'listener bug' } });
  });

  it('revoke publishes the change on auth.keyChanged; another instance applies it; bad payloads are ignored', async () => {
    const bus = new MemoryEventBus();
    const a = setup({ bus });
    const b = setup({ bus });
    const published: unknown[] = [];
    const tap = (async () => {
      for await (const m of bus.subscribe('auth.keyChanged')) published.push(m);
    })();
    b.svc.listenForChanges();
    const seen: KeyChange[] = [];
    b.svc.onKeyChange((c) => seen.push(c));
    const { record } = await a.svc.create('k', 'READER');
    await bus.publish('auth.keyChanged', { keyId: 5, hash: record.hash });
    await bus.publish('auth.keyChanged', { keyId: record.id, hash: null });
    expect(await a.svc.revoke(record.id)).toBe(true);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen).toEqual([{ keyId: record.id, hash: record.hash, revoked: true }]);
    expect(b.svc.knowsRevoked(record.hash)).toBe(true);
    expect(published).toHaveLength(3);
    await bus.close();
    await tap;
  });
});

describe('create, revoke, get, list', () => {
  it('trims the name and accepts 1 to 100 characters', async () => {
    const { svc, logs } = setup();
    const { record, secret } = await svc.create('  ops key  ', 'ANALYST');
    expect(record).toMatchObject({ name: 'ops key', role: 'ANALYST', prefix: secret.slice(0, 11) });
    expect(record.prefix).toHaveLength(11);
    expect(logs).toEqual([
      expect.objectContaining({
        level: INFO,
        msg: 'api key created',
        keyId: record.id,
        name: 'ops key',
        role: 'ANALYST',
      }),
    ]);
    expect((await svc.create('n'.repeat(100), 'READER')).record.name).toHaveLength(100);
    const length = { code: 'BAD_USER_INPUT', message: 'name must be 1–100 characters', details: {} };
    expect(await refusal(svc.create('n'.repeat(101), 'READER'))).toEqual(length);
    expect(await refusal(svc.create('   ', 'READER'))).toEqual(length);
    expect(await refusal(svc.create('', 'READER'))).toEqual(length);
  });

  it.each([
    ['U+0000', 'a\u0000b'],
    ['U+001F', 'a\u001fb'],
    ['U+007F', 'a\u007fb'],
    ['only a control character', '\u0001'],
  ])('refuses a name with %s', async (_name, name) => {
    const { svc } = setup();
    expect(await refusal(svc.create(name, 'READER'))).toEqual({
      code: 'BAD_USER_INPUT',
      message: 'name must not contain control characters',
      details: {},
    });
  });

  it('accepts spaces and characters above U+007F in a name', async () => {
    const { svc } = setup();
    expect((await svc.create('a b\u0080é', 'READER')).record.name).toBe('a b\u0080é');
  });

  it('revoke: UUIDs only (any case), NOT_FOUND for none, true once then false, logged once', async () => {
    const { svc, logs } = setup();
    const { record } = await svc.create('k', 'READER');
    logs.length = 0;
    const notUuid = { code: 'BAD_USER_INPUT', message: 'id must be an API key id (UUID)', details: {} };
    for (const id of ['nope', `x${record.id}`, `${record.id}0`, record.id.slice(1)])
      expect(await refusal(svc.revoke(id))).toEqual(notUuid);
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await refusal(svc.revoke(missing))).toEqual({
      code: 'NOT_FOUND',
      message: `No API key with id ${missing}`,
      details: {},
    });
    // Upper case is a UUID too (looked up, here not found: the memory repository compares exactly).
    expect(await refusal(svc.revoke(record.id.toUpperCase()))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await svc.revoke(record.id)).toBe(true);
    expect(await svc.revoke(record.id)).toBe(false);
    expect(logs.filter((l) => l.msg === 'api key revoked')).toEqual([
      expect.objectContaining({ level: INFO, keyId: record.id }),
    ]);
  });

  it('logs a revocation it could not publish, and still applies it here', async () => {
    const bus: EventBus = Object.assign(new MemoryEventBus(), {
      publish: () => Promise.reject(new Error('bus down')),
    });
    const { svc, logs } = setup({ bus });
    const { record, secret } = await svc.create('k', 'READER');
    expect(await svc.revoke(record.id)).toBe(true);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: WARN,
        msg: 'could not publish a key revocation',
        keyId: record.id,
        err: 'bus down',
      }),
    );
    expect(await refusal(svc.verify(secret))).toEqual(revoked);
  });

  it('get answers the record or NOT_FOUND', async () => {
    const { svc } = setup();
    const { record } = await svc.create('k', 'READER');
    expect(await svc.get(record.id)).toEqual(record);
    expect(await refusal(svc.get('00000000-0000-4000-8000-000000000001'))).toEqual({
      code: 'NOT_FOUND',
      message: 'No API key with id 00000000-0000-4000-8000-000000000001',
      details: {},
    });
  });

  it('list asks for one row more than the page to know whether there is a next page', async () => {
    const { svc, repo } = setup();
    for (const n of ['a', 'b', 'c']) await svc.create(n, 'READER');
    const asked: { take: number }[] = [];
    Object.assign(repo, {
      list: (opts: { take: number }) => {
        asked.push(opts);
        return Promise.resolve(repo.rows.slice(0, opts.take));
      },
    });
    const two = await svc.list({ first: 2, includeRevoked: true });
    expect(two.rows.map((r) => r.name)).toEqual(['a', 'b']);
    expect(two).toMatchObject({ hasNextPage: true, totalCount: 3 });
    const three = await svc.list({ first: 3, includeRevoked: false });
    expect(three.rows.map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect(three).toMatchObject({ hasNextPage: false, totalCount: 3 });
    expect(asked).toEqual([
      { take: 3, after: undefined, includeRevoked: true },
      { take: 4, after: undefined, includeRevoked: false },
    ]);
  });

  it('logs a lastUsedAt write that failed and keeps serving', async () => {
    const { svc, repo, logs } = setup();
    const { secret } = await svc.create('k', 'READER');
    logs.length = 0;
    await svc.verify(secret);
    repo.touch = () => Promise.reject(new Error('db gone'));
    await svc.flushLastUsed();
    expect(logs).toEqual([
      expect.objectContaining({ level: WARN, msg: 'could not record lastUsedAt', err: 'db gone', keys: 1 }),
    ]);
  });
});

describe('bootstrapAdmin', () => {
  it('with ADMIN_API_KEY: creates it once, named and prefixed; a key presented before it existed works after', async () => {
    const { svc, repo, logs } = setup();
    const adminKey = randomKey();
    expect(await refusal(svc.verify(adminKey))).toEqual(invalid); // now remembered as unknown
    expect(await svc.bootstrapAdmin(adminKey)).toEqual({ source: 'env' });
    expect(await svc.bootstrapAdmin(adminKey)).toEqual({ source: 'env' });
    expect(repo.rows).toEqual([
      expect.objectContaining({
        name: 'admin (ADMIN_API_KEY)',
        role: 'ADMIN',
        prefix: adminKey.slice(0, 11),
        hash: hashKey(adminKey),
      }),
    ]);
    expect((await svc.verify(adminKey)).role).toBe('ADMIN');
    expect(logs.filter((l) => l.level >= WARN)).toEqual([]); // an active key: nothing to warn about
  });

  it('with a revoked ADMIN_API_KEY: warns and creates nothing', async () => {
    const { svc, repo, logs } = setup();
    const adminKey = randomKey();
    await svc.bootstrapAdmin(adminKey);
    await repo.revoke(repo.rows[0]!.id);
    logs.length = 0;
    expect(await svc.bootstrapAdmin(adminKey)).toEqual({ source: 'env' });
    expect(repo.rows).toHaveLength(1);
    expect(messages(logs)).toEqual([
      [WARN, 'ADMIN_API_KEY is set but that key was revoked; it will not authenticate'],
    ]);
  });

  it('without ADMIN_API_KEY: generates an initial admin once', async () => {
    const { svc, repo } = setup();
    const first = await svc.bootstrapAdmin(undefined);
    expect(first.source).toBe('generated');
    expect(repo.rows).toEqual([expect.objectContaining({ name: 'initial admin', role: 'ADMIN' })]);
    expect((await svc.verify(first.secret)).name).toBe('initial admin');
    expect(await svc.bootstrapAdmin(undefined)).toEqual({ source: 'existing' });
    expect(repo.rows).toHaveLength(1);
  });
});
