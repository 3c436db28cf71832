/**
 * PostgreSQL access for analyst curation: allowlist entries, the audit of verdict and
 * allowlist changes, and each IOC's score history (written by IocRepository.updateSummary).
 */
import type pg from 'pg';
import { inTransaction } from '../platform/database.js';
import { pageOf, RowCounter, type Cursor, type Page } from '../platform/page.js';
import type {
  Actor,
  AllowlistEntry,
  AllowlistKind,
  CurationAction,
  CurationChangeRecord,
  CurationKind,
  ScoreHistoryRecord,
} from './curation-types.js';

interface EntryRow {
  id: string;
  kind: AllowlistKind;
  value: string;
  note: string;
  created_by_id: string;
  created_by_name: string;
  created_at: Date;
}

const toEntry = (r: EntryRow): AllowlistEntry => ({
  id: r.id,
  kind: r.kind,
  value: r.value,
  note: r.note,
  createdAt: r.created_at,
  createdBy: { id: r.created_by_id, name: r.created_by_name },
});

export type CurationChangeInput = Omit<CurationChangeRecord, 'id' | 'at'>;

/** At most this many stored IOCs are re-scored after one allowlist change. */
export const MAX_RESCORED_PER_CHANGE = 10_000;

export const jsonOrNull = (v: unknown): string | null =>
  v === null || v === undefined ? null : JSON.stringify(v);

export class CurationRepository {
  private readonly counter: RowCounter;

  constructor(private readonly pool: pg.Pool) {
    this.counter = new RowCounter(pool);
  }

  async allowlist(): Promise<AllowlistEntry[]> {
    const { rows } = await this.pool.query<EntryRow>(
      `SELECT id, kind, value, note, created_by_id, created_by_name, created_at
       FROM allowlist_entries ORDER BY created_at, id`,
    );
    return rows.map(toEntry);
  }

  /** Adds the entry and its audit row; null when an entry of that value already exists. */
  async addEntry(
    kind: AllowlistKind,
    value: string,
    note: string,
    actor: Actor,
  ): Promise<AllowlistEntry | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<EntryRow>(
        `INSERT INTO allowlist_entries (kind, value, note, created_by_id, created_by_name)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (value) DO NOTHING
         RETURNING id, kind, value, note, created_by_id, created_by_name, created_at`,
        [kind, value, note, actor.id, actor.name],
      );
      const entry = rows[0] ? toEntry(rows[0]) : null;
      if (entry) {
        await recordChange(client, {
          kind: 'ALLOWLIST',
          action: 'ADD',
          subject: value,
          before: null,
          after: auditEntry(entry),
          actor,
        });
      }
      return entry;
    });
  }

  /** Removes the entry of that value and records it; null when there was none. */
  async removeEntry(value: string, actor: Actor): Promise<AllowlistEntry | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<EntryRow>(
        `DELETE FROM allowlist_entries WHERE value = $1
         RETURNING id, kind, value, note, created_by_id, created_by_name, created_at`,
        [value],
      );
      const entry = rows[0] ? toEntry(rows[0]) : null;
      if (entry) {
        await recordChange(client, {
          kind: 'ALLOWLIST',
          action: 'REMOVE',
          subject: value,
          before: auditEntry(entry),
          after: null,
          actor,
        });
      }
      return entry;
    });
  }

  /**
   * Stored IOCs an entry may cover (the exact match is decided in allowlist.ts), and
   * those it covered when they were last scored.
   */
  async candidates(entry: Pick<AllowlistEntry, 'id' | 'kind' | 'value'>): Promise<string[]> {
    // A CIDR entry is two index scans: host_ip's GiST index (the address an IP IOC or an
    // address URL names) and allowlisted_by's GIN index. A domain suffix still reads
    // every DOMAIN and URL row.
    const coveredBefore = `SELECT id FROM iocs WHERE allowlisted_by @> jsonb_build_object('id', $1::text)`;
    const text =
      entry.kind === 'CIDR'
        ? `SELECT id FROM iocs WHERE host_ip <<= $2::inet UNION ${coveredBefore}`
        : `SELECT id FROM iocs WHERE type IN ('DOMAIN', 'URL') AND (value = $2 OR strpos(value, '.' || $2) > 0)
           UNION ${coveredBefore}`;
    const { rows } = await this.pool.query<{ id: string }>({
      name: `allowlist_candidates_${entry.kind.toLowerCase()}`,
      text: `${text} LIMIT ${MAX_RESCORED_PER_CHANGE}`,
      values: [entry.id, entry.value],
    });
    return rows.map((r) => r.id);
  }

  /** Newest first; `subject` narrows to one IOC value or allowlist entry. */
  async changes(
    subject: string | undefined,
    first: number,
    after: Cursor | undefined,
  ): Promise<Page<CurationChangeRecord>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (subject !== undefined) {
      params.push(subject);
      where.push('subject = $1');
    }
    const countWhere = [...where];
    const countParams = [...params];
    if (after) {
      params.push(after.at, after.id);
      where.push(`(at, id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(first + 1);
    const { rows } = await this.pool.query<ChangeRow>(
      `SELECT id, kind, action, subject, before, after, actor_id, actor_name, at FROM curation_changes
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return pageOf(rows.map(toChange), first, () =>
      this.counter.count('curation_changes', countWhere, countParams),
    );
  }

  /** An IOC's score changes, newest first. */
  async scoreHistory(
    iocId: string,
    first: number,
    after: Cursor | undefined,
  ): Promise<Page<ScoreHistoryRecord>> {
    const params: unknown[] = [iocId];
    let cursor = '';
    if (after) {
      params.push(after.at, after.id);
      cursor = 'AND (at, id) < ($2, $3::uuid)';
    }
    params.push(first + 1);
    const { rows } = await this.pool.query<ScoreHistoryRecord>(
      `SELECT id, at, score, level, sources FROM ioc_score_history WHERE ioc_id = $1 ${cursor}
       ORDER BY at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return pageOf(rows, first, () => this.counter.count('ioc_score_history', ['ioc_id = $1'], [iocId]));
  }

  /** Forgets cached counts after a write made elsewhere (a verdict change). */
  invalidate(): void {
    this.counter.invalidate();
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = await inTransaction(this.pool, work);
    this.counter.invalidate();
    return result;
  }
}

/** One audit row, inside the caller's transaction. */
export async function recordChange(client: pg.PoolClient, c: CurationChangeInput): Promise<void> {
  await client.query(
    `INSERT INTO curation_changes (kind, action, subject, before, after, actor_id, actor_name, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())`,
    [c.kind, c.action, c.subject, jsonOrNull(c.before), jsonOrNull(c.after), c.actor.id, c.actor.name],
  );
}

/** How an allowlist entry appears in the audit's before/after. */
const auditEntry = (e: AllowlistEntry) => ({ kind: e.kind, value: e.value, note: e.note });

interface ChangeRow {
  id: string;
  kind: CurationKind;
  action: CurationAction;
  subject: string;
  before: unknown;
  after: unknown;
  actor_id: string;
  actor_name: string;
  at: Date;
}

const toChange = (r: ChangeRow): CurationChangeRecord => ({
  id: r.id,
  kind: r.kind,
  action: r.action,
  subject: r.subject,
  before: r.before,
  after: r.after,
  actor: { id: r.actor_id, name: r.actor_name },
  at: r.at,
});
