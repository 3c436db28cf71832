import { describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/auth/api-key-service.js';
import type { Principal } from '../../src/auth/api-key-types.js';
import { AppError } from '../../src/platform/errors.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { createLogger } from '../../src/platform/logger.js';
import { MemoryKeyRepo } from './memory-key-repo.js';

/**
 * ApiKeyService.confirm, which every write awaits: it reads the key as committed, never
 * trusting the cache nor sharing a read that began before it was asked.
 */
const logger = createLogger({ log: { level: 'silent', pretty: false } });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: unknown) => (err instanceof AppError ? `${err.code}: ${err.message}` : String(err)),
  );

async function setUp() {
  const repo = new MemoryKeyRepo();
  const outcomes: string[] = [];
  const svc = new ApiKeyService(repo, new MemoryEventBus(), logger, {
    cacheTtlMs: 600_000,
    onOutcome: (o) => outcomes.push(o),
  });
  const { secret, record } = await svc.create('writer', 'ANALYST');
  const principal = await svc.verify(secret);
  return { repo, svc, secret, record, principal, outcomes };
}

/**
 * Starts a confirmation whose read takes its rows and then waits; returns it and the
 * release of that read (later reads answer at once).
 */
async function confirmationInFlight(repo: MemoryKeyRepo, svc: ApiKeyService, principal: Principal) {
  let release!: () => void;
  repo.holdStates = new Promise<void>((r) => (release = r));
  const first = svc.confirm(principal);
  await expect.poll(() => repo.stateReads.length).toBe(1); // the first read has its rows
  return {
    first,
    release: () => {
      repo.holdStates = undefined;
      release();
    },
  };
}

describe('confirming a write', () => {
  it('passes a current key; refuses one revoked behind the cache, and the whole instance then knows it', async () => {
    const { repo, svc, secret, record, principal, outcomes } = await setUp();
    expect(await codeOf(svc.confirm(principal))).toBe('ok');
    expect(outcomes).toEqual(['ok']); // the verify; a confirmation that passes counts nothing
    repo.rows[0]!.revokedAt = new Date(); // committed elsewhere; no bus message here
    expect((await svc.verify(secret)).name).toBe('writer'); // the cache still says yes
    const changes: unknown[] = [];
    svc.onKeyChange((c) => changes.push(c));
    expect(await codeOf(svc.confirm(principal))).toBe('UNAUTHENTICATED: This API key has been revoked');
    expect(outcomes).toEqual(['ok', 'revoked']); // the auth metric counts the refusal
    expect(changes).toEqual([{ keyId: record.id, hash: record.hash, revoked: true }]);
    expect(svc.knowsRevoked(record.hash)).toBe(true);
    expect(await codeOf(svc.verify(secret))).toBe('UNAUTHENTICATED: This API key has been revoked');
  });

  it('refuses a key whose role or feeds-only flag changed, and forgets it so the next verify reads it again', async () => {
    const { repo, svc, secret, principal } = await setUp();
    repo.rows[0]!.role = 'READER';
    expect(await codeOf(svc.confirm(principal))).toBe(
      'UNAUTHENTICATED: This API key changed; send the request again',
    );
    expect((await svc.verify(secret)).role).toBe('READER');
    const reader = await svc.verify(secret);
    repo.rows[0]!.feedsOnly = true;
    expect(await codeOf(svc.confirm(reader))).toBe(
      'UNAUTHENTICATED: This API key changed; send the request again',
    );
  });

  it('a principal whose id is not a key id is refused alone; the writes batched with it pass', async () => {
    const { repo, svc, principal } = await setUp();
    const { first, release } = await confirmationInFlight(repo, svc, principal);
    const bad = svc.confirm({ ...principal, keyId: 'not-a-uuid' });
    const good = svc.confirm(principal);
    release();
    expect(await codeOf(first)).toBe('ok');
    expect(await codeOf(bad)).toBe('UNAUTHENTICATED: This API key has been revoked');
    expect(await codeOf(good)).toBe('ok');
    expect(repo.stateReads).toEqual([[principal.keyId], [principal.keyId]]);
  });

  it('refuses a key deleted from the database as revoked', async () => {
    const { repo, svc, principal } = await setUp();
    repo.rows.length = 0;
    expect(await codeOf(svc.confirm(principal))).toBe('UNAUTHENTICATED: This API key has been revoked');
  });

  it('never shares a read that began before it was asked: asked during a read, it waits for the next one', async () => {
    const { repo, svc, principal } = await setUp();
    const { first, release } = await confirmationInFlight(repo, svc, principal);
    repo.rows[0]!.revokedAt = new Date(); // the revocation commits while it is in flight
    const later = Array.from({ length: 10 }, () => svc.confirm(principal));
    release();
    expect(await codeOf(first)).toBe('ok'); // asked before the revocation: allowed
    // The ten asked afterwards share one second read, which sees the revocation.
    expect(await Promise.all(later.map(codeOf))).toEqual(
      Array<string>(10).fill('UNAUTHENTICATED: This API key has been revoked'),
    );
    expect(repo.stateReads).toEqual([[principal.keyId], [principal.keyId]]);
  });

  it('refuses with UPSTREAM_UNAVAILABLE while the database is unreachable (reads keep their stale grace)', async () => {
    const { repo, svc, secret, principal } = await setUp();
    repo.down = true;
    expect(await codeOf(svc.confirm(principal))).toMatch(/^UPSTREAM_UNAVAILABLE: /);
    expect((await svc.verify(secret)).name).toBe('writer');
    repo.down = false;
    expect(await codeOf(svc.confirm(principal))).toBe('ok');
  });

  it('an outage fails a whole batch with one read, not one more read per waiting write', async () => {
    const { repo, svc, principal } = await setUp();
    const { first, release } = await confirmationInFlight(repo, svc, principal);
    const waiting = Array.from({ length: 5 }, () => svc.confirm(principal));
    repo.down = true;
    release();
    expect(await codeOf(first)).toBe('ok');
    const codes = await Promise.all(waiting.map(codeOf));
    expect(codes.map((c) => c.split(':')[0])).toEqual(Array<string>(5).fill('UPSTREAM_UNAVAILABLE'));
    expect(repo.stateReads).toHaveLength(2);
  });
});
