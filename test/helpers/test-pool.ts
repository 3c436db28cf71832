import pg from 'pg';

/**
 * A pool for a test's own SQL. When the test database is dropped, its sessions are
 * terminated (createTestDatabase's drop), and a pool still holding idle ones gets their
 * FATAL as an 'error' event: expected then, and without a listener it would surface as
 * an uncaught error of the whole run. A query on a terminated session still fails.
 */
export function testPool(
  connectionString: string,
  options: Omit<pg.PoolConfig, 'connectionString'> = {},
): pg.Pool {
  const pool = new pg.Pool({ connectionString, ...options });
  pool.on('error', () => undefined);
  return pool;
}
