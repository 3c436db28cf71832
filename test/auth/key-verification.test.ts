import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiKeyWorkers } from '../../src/auth/api-key-workers.js';
import { ApiKeyService } from '../../src/auth/api-key-service.js';
import type { KeyChange } from '../../src/auth/api-key-types.js';
import { AppError } from '../../src/platform/errors.js';
import { MemoryEventBus, type EventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { createFailureBudget } from '../../src/platform/rate-limiter.js';
import { MemoryKeyRepo } from './memory-key-repo.js';

const logger = createLogger({ log: { level: 'silent', pretty: false } });
const badKey = () => `tw_${randomBytes(32).toString('base64url')}`;
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
  );

afterEach(() => vi.useRealTimers());

describe('key verification cost', () => {
  it('one unknown key presented 100 times costs one lookup (negative cache)', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger);
    const key = badKey();
    const codes = await Promise.all(Array.from({ length: 100 }, () => codeOf(svc.verify(key))));
    expect(new Set(codes)).toEqual(new Set(['UNAUTHENTICATED']));
    expect(repo.lookups).toBe(1);
  });

  it('an address over its budget costs no lookup: 20 distinct bad keys, budget 5 → 5 lookups', async () => {
    const repo = new MemoryKeyRepo();
    const failures = createFailureBudget({ points: 5, windowSeconds: 60, prefix: 't:' });
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, { failures });
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(await codeOf(svc.verify(badKey(), '192.0.2.1')));
    expect(codes).toEqual([
      ...Array<string>(5).fill('UNAUTHENTICATED'),
      ...Array<string>(15).fill('RATE_LIMITED'),
    ]);
    expect(repo.lookups).toBe(5);
    expect(await codeOf(svc.verify(badKey(), '192.0.2.2'))).toBe('UNAUTHENTICATED');
  });
});

describe('stale-if-error', () => {
  it('serves a key verified within the stale window while the database is down, then 503', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, {
      cacheTtlMs: 10_000,
      staleIfErrorMs: 600_000,
    });
    const { secret } = await svc.create('k', 'READER');
    const other = await svc.create('other', 'READER');
    await svc.verify(secret);
    repo.down = true;
    vi.setSystemTime(Date.now() + 11_000); // fresh entry expired, stale one still good
    expect((await svc.verify(secret)).name).toBe('k');
    expect(await codeOf(svc.verify(other.secret))).toBe('UPSTREAM_UNAVAILABLE');
    vi.setSystemTime(Date.now() + 600_000); // past the stale window
    expect(await codeOf(svc.verify(secret))).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('never serves a key known to be revoked, even with the database down', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger);
    const { secret, record } = await svc.create('k', 'READER');
    await svc.verify(secret);
    expect(await svc.revoke(record.id)).toBe(true);
    repo.down = true;
    expect(await codeOf(svc.verify(secret))).toBe('UNAUTHENTICATED');
  });
});

describe('revocation reaches every instance', () => {
  it('revoke answers true when publishing fails (the poll carries it)', async () => {
    const repo = new MemoryKeyRepo();
    const bus: EventBus = Object.assign(new MemoryEventBus(), {
      publish: () => Promise.reject(new Error('Stream isn\u2019t writeable')),
    });
    const svc = new ApiKeyService(repo, bus, logger);
    const { record } = await svc.create('k', 'READER');
    expect(await svc.revoke(record.id)).toBe(true);
  });

  it('the poll worker finds a revocation made elsewhere (no bus) and notifies listeners once', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, { cacheTtlMs: 600_000 });
    const [poll] = apiKeyWorkers({ service: svc, repo, pollMs: 1000, logger });
    const { secret, record } = await svc.create('k', 'READER');
    await poll!.run(new AbortController().signal); // first look: nothing revoked yet
    await svc.verify(secret); // cached for ten minutes
    const seen: KeyChange[] = [];
    svc.onKeyChange((c) => seen.push(c));
    await repo.revoke(record.id); // another instance revoked it; its message was lost
    expect((await svc.verify(secret)).name).toBe('k'); // still cached here
    await poll!.run(new AbortController().signal);
    await poll!.run(new AbortController().signal);
    expect(seen).toEqual([{ keyId: record.id, hash: record.hash, revoked: true }]);
    expect(await codeOf(svc.verify(secret))).toBe('UNAUTHENTICATED');
  });
});
