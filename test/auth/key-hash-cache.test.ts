import { randomBytes } from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-key-service.js';
import type { ApiKeyRecord } from '../../src/auth/api-key-types.js';
import { AppError } from '../../src/platform/errors.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryKeyRepo } from './memory-key-repo.js';

// Counts SHA-256 hashes: the service hashes a presented secret with node:crypto.
const hashes = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  return {
    ...real,
    createHash: (algorithm: string) => {
      if (algorithm === 'sha256') hashes.count += 1;
      return real.createHash(algorithm);
    },
  };
});

const logger = createLogger({ log: { level: 'silent', pretty: false } });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof AppError ? err.code : String(err)),
  );

beforeEach(() => {
  hashes.count = 0;
});

describe('hash of a presented key', () => {
  it('a key that verified is hashed once for 100 requests', async () => {
    const svc = new ApiKeyService(new MemoryKeyRepo(), new MemoryEventBus(), logger);
    const { secret } = await svc.create('busy', 'READER');
    hashes.count = 0;
    for (let i = 0; i < 100; i++) expect(await codeOf(svc.verify(secret))).toBe('ok');
    expect(hashes.count).toBe(1);
  });

  it('a key that did not verify is hashed again each time (5 tries, 5 hashes)', async () => {
    const svc = new ApiKeyService(new MemoryKeyRepo(), new MemoryEventBus(), logger);
    const wrong = `tw_${randomBytes(32).toString('base64url')}`;
    for (let i = 0; i < 5; i++) expect(await codeOf(svc.verify(wrong))).toBe('UNAUTHENTICATED');
    expect(hashes.count).toBe(5);
  });

  it('a remembered key stops at once when revoked', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, { cacheTtlMs: 600_000 });
    const { secret, record } = await svc.create('revoked soon', 'READER');
    expect(await codeOf(svc.verify(secret))).toBe('ok');
    expect(await codeOf(svc.verify(secret))).toBe('ok');
    expect(await svc.revoke(record.id)).toBe(true);
    expect(await codeOf(svc.verify(secret))).toBe('UNAUTHENTICATED');
    await expect(svc.verify(secret)).rejects.toThrow('This API key has been revoked');
  });

  it('verifyFresh answers from the secret alone until the key is revoked or changed', async () => {
    const repo = new MemoryKeyRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, { cacheTtlMs: 600_000 });
    const a = await svc.create('a', 'READER');
    const b = await svc.create('b', 'ANALYST');
    expect(svc.verifyFresh(a.secret)).toBeUndefined(); // never verified here
    await svc.verify(a.secret);
    await svc.verify(b.secret);
    hashes.count = 0;
    expect(svc.verifyFresh(a.secret)).toMatchObject({ keyId: a.record.id, role: 'READER' });
    expect(svc.verifyFresh(b.secret)).toMatchObject({ keyId: b.record.id, role: 'ANALYST' });
    expect(hashes.count).toBe(0);
    // Changed elsewhere (forgotten here): verify decides again, then the secret is fresh again.
    svc.applyChange({ keyId: b.record.id, hash: b.record.hash, revoked: false });
    expect(svc.verifyFresh(b.secret)).toBeUndefined();
    expect(await codeOf(svc.verify(b.secret))).toBe('ok');
    expect(svc.verifyFresh(b.secret)).toMatchObject({ keyId: b.record.id });
    // Revoked: never fresh again, and verify refuses it.
    expect(await svc.revoke(a.record.id)).toBe(true);
    expect(svc.verifyFresh(a.secret)).toBeUndefined();
    expect(await codeOf(svc.verify(a.secret))).toBe('UNAUTHENTICATED');
    expect(svc.verifyFresh(a.secret)).toBeUndefined();
    expect(svc.verifyFresh(b.secret)).toMatchObject({ keyId: b.record.id });
  });

  it('remembers at most 10,000 secrets: the one verified longest ago is hashed again', async () => {
    // Rows by hash: the plain memory repository scans its rows, slow for 10,001 keys.
    class IndexedRepo extends MemoryKeyRepo {
      private readonly byHash = new Map<string, ApiKeyRecord>();
      override async create(d: Parameters<MemoryKeyRepo['create']>[0]) {
        const row = await super.create(d);
        this.byHash.set(row.hash, row);
        return row;
      }
      override findByHash(hash: string) {
        this.lookups += 1;
        return Promise.resolve(this.byHash.get(hash) ?? null);
      }
    }
    const repo = new IndexedRepo();
    const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, { cacheTtlMs: 600_000 });
    const secrets: string[] = [];
    for (let i = 0; i < 10_001; i++) secrets.push((await svc.create(`k${i}`, 'READER')).secret);
    for (const secret of secrets) await svc.verify(secret);
    hashes.count = 0;
    await svc.verify(secrets[10_000]); // the newest: remembered
    await svc.verify(secrets[1]); // the oldest still remembered
    expect(hashes.count).toBe(0);
    expect(svc.verifyFresh(secrets[0])).toBeUndefined(); // the first one was forgotten
    await svc.verify(secrets[0]);
    expect(hashes.count).toBe(1);
  });
});
