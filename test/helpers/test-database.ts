import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  /** URL of a fresh, empty database of its own. */
  url: string;
  drop(): Promise<void>;
}

/** The server tests run on: DATABASE_URL, else the run's embedded PostgreSQL. */
export function testServerUrl(): string {
  const url = process.env.DATABASE_URL ?? inject('embeddedPostgresUrl');
  if (!url) throw new Error('No PostgreSQL for tests: DATABASE_URL is unset and global setup started none');
  return url;
}

/**
 * A uniquely named database per caller, so test files never share state or depend on
 * order. template0 because nobody connects to it (template1 may be busy when several
 * files create databases at once).
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const server = testServerUrl();
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const name = `tw_${slug}_${randomBytes(5).toString('hex')}`;
  await withAdmin(server, (c) =>
    c.query(`CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`),
  );
  const url = new URL(server);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(server, async (c) => {
        // Pools a test forgot to close must not keep the database alive.
        await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)}`);
      });
    },
  };
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
