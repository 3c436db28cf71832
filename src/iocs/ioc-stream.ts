import type pg from 'pg';
import type { StreamStore } from '../platform/resumable-stream.js';
import { IOC_ENRICHED_TOPIC, type IocRecord } from './ioc-record.js';
import type { IocRepository } from './ioc-repository.js';
import { toRecord } from './ioc-summary.js';

/** An IOC as the iocEnriched stream carries it: with its position (decimal text). */
export type PositionedIoc = IocRecord & { streamPosition: string };

/**
 * Reads of `iocs.enriched_position`, which a trigger moves forward whenever an IOC's
 * score, level or categories change (migration 20261203131000_ioc_enriched_position).
 */
export class IocStreamRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Values and positions of the IOCs changed after `after`, in position order. */
  async changedAfter(after: bigint, limit: number): Promise<{ value: string; position: string }[]> {
    const { rows } = await this.pool.query<{ value: string; position: string }>(
      `SELECT value, enriched_position::text AS position FROM iocs
        WHERE enriched_position > $1 ORDER BY enriched_position LIMIT $2`,
      [after.toString(), limit],
    );
    return rows;
  }

  async head(): Promise<bigint> {
    const { rows } = await this.pool.query<{ head: string | null }>(
      'SELECT max(enriched_position)::text AS head FROM iocs',
    );
    return BigInt(rows[0]?.head ?? '0');
  }

  async firstChangedAfter(after: bigint): Promise<Date | null> {
    const { rows } = await this.pool.query<{ at: Date | null }>(
      `SELECT score_changed_at AS at FROM iocs WHERE enriched_position > $1 ORDER BY enriched_position LIMIT 1`,
      [after.toString()],
    );
    const row = rows[0];
    return row ? (row.at ?? new Date(0)) : null;
  }

  /** The current position of each IOC id given (0 for one never scored). */
  async positionsOf(ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ id: string; position: string }>(
      'SELECT id, enriched_position::text AS position FROM iocs WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.position]));
  }
}

/**
 * The iocEnriched stream as the ordered feed and resuming subscriptions read it
 * (src/platform/resumable-stream.ts). Its bus messages carry no position, so each is
 * only a signal: the feed reads the IOCs changed since the last one it delivered.
 * An IOC changed twice in quick succession may be read once, in its latest state, at
 * its latest position.
 */
export function iocStream(
  positions: IocStreamRepository,
  repo: Pick<IocRepository, 'findByValues'>,
): StreamStore<PositionedIoc> {
  return {
    stream: 'iocEnriched',
    topic: IOC_ENRICHED_TOPIC,
    signalOnly: true,
    unpack: () => [],
    position: (ioc) => BigInt(ioc.streamPosition),
    async readAfter(after, limit) {
      const changed = await positions.changedAfter(after, limit);
      const stored = new Map((await repo.findByValues(changed.map((c) => c.value))).map((s) => [s.value, s]));
      return changed.flatMap(({ value, position }) => {
        const ioc = stored.get(value);
        return ioc ? [{ ...toRecord(ioc), streamPosition: position }] : [];
      });
    },
    head: () => positions.head(),
    firstWrittenAfter: (after) => positions.firstChangedAfter(after),
  };
}
