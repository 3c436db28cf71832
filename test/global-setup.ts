import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { createLogger } from '../src/platform/logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server-level URL of the run's embedded PostgreSQL; null when DATABASE_URL is set. */
    embeddedPostgresUrl: string | null;
  }
}

/**
 * Without DATABASE_URL, one embedded PostgreSQL serves the whole run (starting one per
 * test file would cost a second each); every test file still gets its own database
 * from test/helpers/test-database.ts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    project.provide('embeddedPostgresUrl', null);
    return () => Promise.resolve();
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'threatwire-test-pg-'));
  await chmod(dataDir, 0o755); // as root the server runs as `postgres`, which must get through
  const logger = createLogger({ log: { level: 'warn', pretty: false } });
  const server = await startEmbeddedPostgres({ dataDir, port: 0, logger }).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });
  project.provide('embeddedPostgresUrl', server.url);
  return async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
