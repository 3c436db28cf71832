import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimestamptz, poolTypes } from '../../src/platform/pg-timestamps.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { testPool } from '../helpers/test-pool.js';

const driver = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

describe('parseTimestamptz', () => {
  it('reads what the driver reads for every offset form and fraction length', () => {
    const cases = [
      '2026-12-03 13:04:05+00',
      '2026-12-03 13:04:05.1+00',
      '2026-12-03 13:04:05.123+00',
      '2026-12-03 13:04:05.123456+00',
      '2026-12-03 13:04:05.999999-03:30',
      '1970-01-01 00:00:00+01',
      '1900-06-30 23:59:59.5+00:53:28',
      '0100-02-28 12:00:00+00',
      '2024-02-29 23:59:59.9995+14',
    ];
    for (const text of cases) expect(parseTimestamptz(text), text).toEqual(driver(text));
  });

  it('hands the forms it does not read to the driver', () => {
    for (const text of [
      'infinity',
      '-infinity',
      '0001-01-01 00:00:00+00 BC',
      '10000-01-01 00:00:00+00',
      '0099-01-01 00:00:00+00',
    ])
      expect(parseTimestamptz(text), text).toEqual(driver(text));
  });

  it('agrees with the driver on generated timestamps', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fc.option(fc.integer({ min: 0, max: 999_999 })),
        fc.constantFrom('+', '-'),
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom('', ':30', ':45', ':53:28'),
        (y, mo, d, h, mi, s, frac, sign, oh, rest) => {
          const fraction = frac === null ? '' : '.' + pad(frac, 6).replace(/0+$/, '');
          const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${fraction === '.' ? '' : fraction}${sign}${pad(oh, 2)}${rest}`;
          expect(parseTimestamptz(text)).toEqual(driver(text));
        },
      ),
      { numRuns: 2000, seed: 20261203 },
    );
  });
});

describe('the pool reads timestamptz with it', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await createTestDatabase('pg_timestamps');
    pool = testPool(db.url, { max: 1, types: poolTypes });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('in UTC and in a session time zone with minutes', async () => {
    const sql = `SELECT '2026-12-03 13:04:05.123456Z'::timestamptz AS t, 'infinity'::timestamptz AS inf, now() AS n, 42::int4 AS i, 'x'::text AS s`;
    const utc = (await pool.query(sql)).rows[0] as { t: Date; inf: unknown; n: Date; i: number; s: string };
    expect(utc.t.toISOString()).toBe('2026-12-03T13:04:05.123Z');
    expect(utc.inf).toBe(Infinity);
    expect(utc.i).toBe(42);
    const client = await pool.connect();
    try {
      await client.query(`SET TIME ZONE 'Asia/Kolkata'`);
      const row = (await client.query(sql)).rows[0] as { t: Date };
      expect(row.t.toISOString()).toBe('2026-12-03T13:04:05.123Z');
      await client.query('RESET TIME ZONE');
    } finally {
      client.release();
    }
  });
});
