/**
 * The guard of a streaming response: a key change heard for its key ends it at once; a
 * missed message is caught by the re-check between chunks, at most RECHECK_MS apart.
 */
import { describe, expect, it } from 'vitest';
import type { ApiKeyService } from '../../src/auth/api-key-service.js';
import type { KeyChange } from '../../src/auth/api-key-types.js';
import { AppError } from '../../src/platform/errors.js';
import { RECHECK_MS, StreamKeyGuard } from '../../src/server/stream-key-guard.js';

function keys() {
  const listeners = new Set<(c: KeyChange) => void>();
  const service = {
    onKeyChange(fn: (c: KeyChange) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  } as unknown as ApiKeyService;
  return { service, listeners, emit: (c: KeyChange) => listeners.forEach((fn) => fn(c)) };
}

describe('StreamKeyGuard', () => {
  it('ends at once when its key is revoked, not when another is', async () => {
    const k = keys();
    const guard = new StreamKeyGuard(k.service, 'a', () => Promise.resolve(undefined));
    const lost: string[] = [];
    guard.whenLost((err) => lost.push(err.message));
    k.emit({ keyId: 'b', hash: 'hb', revoked: true });
    await expect(guard.check()).resolves.toBeUndefined();
    k.emit({ keyId: 'a', hash: 'ha', revoked: true });
    expect(lost).toEqual(['This API key has been revoked; the response was cut short']);
    await expect(guard.check()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    guard.dispose();
    expect(k.listeners.size).toBe(0);
  });

  it('looks the key up again only once RECHECK_MS has passed, and ends when it is refused', async () => {
    const k = keys();
    let now = 1_000_000;
    let looks = 0;
    const state: { answer: string | undefined } = { answer: undefined };
    const guard = new StreamKeyGuard(
      k.service,
      'a',
      () => {
        looks++;
        return Promise.resolve(state.answer);
      },
      () => now,
    );
    now += RECHECK_MS - 1;
    await guard.check();
    expect(looks).toBe(0);
    now += 1;
    await guard.check();
    expect(looks).toBe(1);
    state.answer = 'This API key changed';
    now += RECHECK_MS - 1;
    await guard.check();
    expect(looks).toBe(1);
    now += 1;
    await expect(guard.check()).rejects.toThrow('This API key changed; the response was cut short');
    expect(looks).toBe(2);
  });

  it('treats a refused look-up as lost, and a database error as not', async () => {
    const k = keys();
    let now = 0;
    let error: Error = new Error('connection refused');
    const guard = new StreamKeyGuard(
      k.service,
      'a',
      () => Promise.reject(error),
      () => now,
    );
    now += RECHECK_MS;
    await expect(guard.check()).resolves.toBeUndefined();
    error = new AppError('UNAUTHENTICATED', 'This API key has been revoked');
    now += RECHECK_MS;
    await expect(guard.check()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
