import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PgThreatEventRepository } from '../../src/threats/threat-event-repository.js';
import type { ThreatEventRecord } from '../../src/threats/threat-types.js';
import { COLUMNS, copyLine, values } from './data.js';

/** Raw PostgreSQL ceilings on the same rows: one connection, batches in sequence, one statement each. */

export type Method = (pool: pg.Pool, batch: readonly ThreatEventRecord[]) => Promise<void>;

const COPY_SQL = `COPY threat_events (${COLUMNS.join(', ')}) FROM STDIN`;

export const METHODS: Record<string, Method> = {
  COPY: async (pool, batch) => {
    const client = await pool.connect();
    try {
      await pipeline(Readable.from([batch.map(copyLine).join('')]), client.query(copyFrom(COPY_SQL)));
    } finally {
      client.release();
    }
  },
  'INSERT … SELECT FROM unnest (the app’s own statement)': async (pool, batch) => {
    await new PgThreatEventRepository(pool).insertMany(batch);
  },
  'multi-row INSERT … VALUES': async (pool, batch) => {
    const params: unknown[] = [];
    const rows = batch.map((r) => {
      const start = params.length;
      params.push(...values(r));
      return `(${COLUMNS.map((_, k) => `$${start + k + 1}`).join(',')})`;
    });
    await pool.query(
      `INSERT INTO threat_events (${COLUMNS.join(', ')}) VALUES ${rows.join(',')} ON CONFLICT (external_id) DO NOTHING`,
      params,
    );
  },
};

export async function measure(
  pool: pg.Pool,
  method: Method,
  records: readonly ThreatEventRecord[],
  batchSize: number,
) {
  await pool.query('TRUNCATE threat_events CASCADE');
  const started = performance.now();
  for (let i = 0; i < records.length; i += batchSize) await method(pool, records.slice(i, i + batchSize));
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM threat_events');
  if (rows[0]?.n !== records.length) throw new Error(`expected ${records.length} rows, found ${rows[0]?.n}`);
  return records.length / seconds;
}
