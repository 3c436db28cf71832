import { describe, expect, it } from 'vitest';
import { ApiKeyService, hashKey } from '../../src/auth/api-key-service.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryKeyRepo } from './memory-key-repo.js';

const logger = createLogger({ log: { level: 'silent', pretty: false } });

describe('ApiKeyService', () => {
  it('records lastUsedAt in one batched write, not one per request', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger);
    const a = await svc.create('a', 'READER');
    const b = await svc.create('b', 'ANALYST');
    for (let i = 0; i < 100; i++) await svc.verify(i % 2 ? a.secret : b.secret);
    expect(repo.touches).toHaveLength(0);
    await svc.flushLastUsed();
    expect(repo.touches).toHaveLength(1);
    expect([...repo.touches[0]!.keys()].sort()).toEqual([a.record.id, b.record.id].sort());
    await svc.flushLastUsed();
    expect(repo.touches).toHaveLength(1); // nothing new to write
  });

  it('stores only the SHA-256 hash and generates 256-bit keys', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger);
    const { secret, record } = await svc.create('k', 'ADMIN');
    expect(record.hash).toBe(hashKey(secret));
    expect(JSON.stringify(repo.rows)).not.toContain(secret);
    expect(Buffer.from(secret.slice(3), 'base64url')).toHaveLength(32);
  });

  it('bootstraps one ADMIN key on first start only, or the configured one', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger);
    const first = await svc.bootstrapAdmin(undefined);
    expect(first.source).toBe('generated');
    expect(first.secret).toMatch(/^tw_/);
    expect(await svc.bootstrapAdmin(undefined)).toEqual({ source: 'existing' });
    const configured = 'x'.repeat(30);
    await svc.bootstrapAdmin(configured);
    await svc.bootstrapAdmin(configured);
    expect(repo.rows.filter((r) => r.hash === hashKey(configured))).toHaveLength(1);
    expect((await svc.verify(configured)).role).toBe('ADMIN');
  });
});
