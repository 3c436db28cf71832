import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PgApiKeyRepository } from '../../src/auth/api-key-repository.js';
import { ApiKeyService, hashKey } from '../../src/auth/api-key-service.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/platform/database.js';
import { MemoryEventBus } from '../../src/platform/event-bus.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const logger = pino({ level: 'silent' });
let target: TestDatabase | undefined;
const handles: Database[] = [];
afterAll(async () => {
  await Promise.all(handles.map((h) => h.close()));
  await target?.drop();
});

describe('first start of several instances at once', () => {
  it('bootstraps exactly one admin key, and inserts ADMIN_API_KEY once without failing', async () => {
    target = await createTestDatabase('admin_bootstrap');
    const config = loadConfig({ DATABASE_URL: target.url, LOG_LEVEL: 'silent' });
    // Two instances, each with its own pool, starting together on an empty database.
    handles.push(...(await Promise.all([openDatabase(config, logger), openDatabase(config, logger)])));
    const instances = handles.map(
      (h) => new ApiKeyService(new PgApiKeyRepository(h.prisma, h.pool), new MemoryEventBus(), logger),
    );
    const starts = [...instances, ...instances, ...instances];

    const generated = await Promise.all(starts.map((s) => s.bootstrapAdmin(undefined)));
    expect(generated.filter((r) => r.source === 'generated')).toHaveLength(1);
    expect(generated.filter((r) => r.source === 'existing')).toHaveLength(starts.length - 1);
    expect(await handles[0]!.prisma.apiKey.count({ where: { role: 'ADMIN' } })).toBe(1);

    const configured = `tw_${'k'.repeat(40)}`;
    const fromEnv = await Promise.all(starts.map((s) => s.bootstrapAdmin(configured)));
    expect(fromEnv.every((r) => r.source === 'env')).toBe(true);
    expect(await handles[0]!.prisma.apiKey.count({ where: { hash: hashKey(configured) } })).toBe(1);
  });
});
