/**
 * Analyst curation (docs/scoring.md §7): verdicts on one IOC and allowlist entries over
 * whole ranges. Every change re-scores the IOCs it touches at once (score history and
 * iocEnriched as for an enrichment) and is audited in the same transaction: who (the
 * API key), when, before and after.
 */
import { LRUCache } from 'lru-cache';
import { checkText } from '../platform/argument-checks.js';
import { badInput } from '../platform/errors.js';
import type { EventBus } from '../platform/event-bus.js';
import type { Logger } from '../platform/logger.js';
import type { Cursor } from '../platform/page.js';
import { allowlistMatch, parseAllowlistEntry } from './allowlist.js';
import { recordChange, type CurationRepository } from './curation-repository.js';
import type {
  Actor,
  AllowlistEntry,
  CurationChangePage,
  ScoreHistoryPage,
  StoredAllowlistMatch,
  StoredVerdict,
  Verdict,
} from './curation-types.js';
import { parseIoc, parseIocInput } from './ioc-parse.js';
import { IOC_ENRICHED_TOPIC, type IocRecord, type StoredIoc } from './ioc-record.js';
import type { IocRepository, IocSummaryUpdate } from './ioc-repository.js';
import { rescore, scoreChanged, toRecord } from './ioc-summary.js';
import { addTags, checkIocNote, checkTags } from './ioc-tags.js';
import type { IocType } from './ioc-types.js';

/** Longest note on a verdict or allowlist entry. */
export const MAX_NOTE_LENGTH = 1000;
/** Furthest a verdict's expiry may lie ahead: beyond that it is a typo, not a plan. */
export const MAX_VERDICT_DAYS = 1830;
/** How long this instance trusts its copy of the allowlist (its own changes apply at once). */
const ALLOWLIST_TTL_MS = 5_000;
const DAY_MS = 86_400_000;

export interface CurationServiceDeps {
  iocs: IocRepository;
  repo: CurationRepository;
  bus: EventBus;
  logger: Logger;
}

export class CurationService {
  private readonly entries = new LRUCache<'all', AllowlistEntry[]>({ max: 1, ttl: ALLOWLIST_TTL_MS });
  private readonly log: Logger;

  constructor(private readonly deps: CurationServiceDeps) {
    this.log = deps.logger.child({ component: 'ioc-curation' });
  }

  /** The entry covering an IOC, for the fusion of an enrichment pass. */
  async allowlistMatchFor(type: IocType, value: string): Promise<StoredAllowlistMatch | null> {
    return allowlistMatch(await this.allowlist(), type, value);
  }

  async allowlist(): Promise<AllowlistEntry[]> {
    const cached = this.entries.get('all');
    if (cached) return cached;
    const loaded = await this.deps.repo.allowlist();
    this.entries.set('all', loaded);
    return loaded;
  }

  async setVerdict(
    actor: Actor,
    value: string,
    verdict: Verdict,
    note: string | null | undefined,
    expiresAt: Date | string | null | undefined,
  ): Promise<IocRecord> {
    const parsed = parseIocInput(value).ioc;
    const now = new Date();
    const stored: StoredVerdict = {
      verdict,
      note: checkNote(note),
      setAt: now.toISOString(),
      expiresAt: checkExpiry(expiresAt, now)?.toISOString() ?? null,
      setBy: actor,
    };
    const ioc = await this.deps.iocs.register(parsed);
    return this.changeVerdict(ioc, stored, 'SET', actor, now);
  }

  /** Removes the IOC's verdict; null when the IOC is not stored. */
  async clearVerdict(actor: Actor, value: string): Promise<IocRecord | null> {
    const ioc = await this.deps.iocs.findByValue(parseIoc(value).value);
    if (ioc === null) return null;
    if (ioc.verdict == null) return toRecord(ioc);
    return this.changeVerdict(ioc, null, 'CLEAR', actor, new Date());
  }

  async addAllowlistEntry(
    actor: Actor,
    value: string,
    note: string | null | undefined,
  ): Promise<AllowlistEntry> {
    const entry = parseAllowlistEntry(value);
    const added = await this.deps.repo.addEntry(entry.kind, entry.value, checkNote(note), actor);
    if (added === null) throw badInput(`${entry.value} is already on the allowlist`, { argument: 'value' });
    this.entries.clear();
    await this.rescoreCovered(added);
    return added;
  }

  /** Removes the entry written as `value` (any accepted spelling); false when there is none. */
  async removeAllowlistEntry(actor: Actor, value: string): Promise<boolean> {
    const entry = parseAllowlistEntry(value);
    const removed = await this.deps.repo.removeEntry(entry.value, actor);
    if (removed === null) return false;
    this.entries.clear();
    await this.rescoreCovered(removed);
    return true;
  }

  /** Adds tags (set union; existing ones stay); registers the IOC. Audited when it changes. */
  async tagIoc(actor: Actor, value: string, tags: readonly string[]): Promise<IocRecord> {
    const parsed = parseIocInput(value).ioc;
    const added = checkTags('tags', tags);
    const ioc = await this.deps.iocs.register(parsed);
    return this.annotate(ioc, actor, 'TAGS', 'ADD', (cur) => ({
      tags: addTags(cur.tags ?? [], added),
      note: cur.note ?? null,
    }));
  }

  /** Removes tags (absent ones are ignored); null when the IOC is not stored. */
  async untagIoc(actor: Actor, value: string, tags: readonly string[]): Promise<IocRecord | null> {
    const parsedValue = parseIocInput(value).ioc.value;
    const removed = checkTags('tags', tags);
    const ioc = await this.deps.iocs.findByValue(parsedValue);
    if (ioc === null) return null;
    return this.annotate(ioc, actor, 'TAGS', 'REMOVE', (cur) => ({
      tags: (cur.tags ?? []).filter((t) => !removed.includes(t)),
      note: cur.note ?? null,
    }));
  }

  /** Replaces the IOC's note; null or blank clears it. Registers the IOC. */
  async setIocNote(actor: Actor, value: string, note: string | null | undefined): Promise<IocRecord> {
    const parsed = parseIocInput(value).ioc;
    const checked = checkIocNote(note);
    const ioc = await this.deps.iocs.register(parsed);
    return this.annotate(ioc, actor, 'NOTE', checked === null ? 'CLEAR' : 'SET', (cur) => ({
      tags: cur.tags ?? [],
      note: checked,
    }));
  }

  private async annotate(
    ioc: StoredIoc,
    actor: Actor,
    kind: 'TAGS' | 'NOTE',
    action: 'ADD' | 'REMOVE' | 'SET' | 'CLEAR',
    compute: (cur: StoredIoc) => { tags: string[]; note: string | null },
  ): Promise<IocRecord> {
    const after = await this.deps.iocs.updateAnnotations(ioc.id, compute, (client, b, a) =>
      recordChange(client, {
        kind,
        action,
        subject: ioc.value,
        before: kind === 'TAGS' ? (b.tags ?? []) : (b.note ?? null),
        after: kind === 'TAGS' ? (a.tags ?? []) : (a.note ?? null),
        actor,
      }),
    );
    this.deps.repo.invalidate();
    return toRecord(after);
  }

  changes(
    subject: string | null | undefined,
    first: number,
    after: Cursor | undefined,
  ): Promise<CurationChangePage> {
    return this.deps.repo.changes(checkText('subject', subject), first, after);
  }

  scoreHistory(iocId: string, first: number, after: Cursor | undefined): Promise<ScoreHistoryPage> {
    return this.deps.repo.scoreHistory(iocId, first, after);
  }

  private async changeVerdict(
    ioc: StoredIoc,
    verdict: StoredVerdict | null,
    action: 'SET' | 'CLEAR',
    actor: Actor,
    now: Date,
  ): Promise<IocRecord> {
    const allowlisted = await this.allowlistMatchFor(ioc.type, ioc.value);
    const { before, after } = await this.deps.iocs.updateSummary(
      ioc.id,
      (cur) => ({
        ...rescoredSummary({ ...cur, verdict }, allowlisted, now),
        verdict,
        nextEnrichAt: revisitAtExpiry(cur.nextEnrichAt, verdict),
      }),
      (client, b, a) =>
        recordChange(client, {
          kind: 'VERDICT',
          action,
          subject: ioc.value,
          before: b.verdict ?? null,
          after: a.verdict ?? null,
          actor,
        }),
    );
    this.deps.repo.invalidate();
    await this.publishIfChanged(before, after);
    return toRecord(after);
  }

  /** Re-scores the stored IOCs an added or removed entry covers (or covered). */
  private async rescoreCovered(entry: AllowlistEntry): Promise<void> {
    const ids = await this.deps.repo.candidates(entry);
    const entries = await this.allowlist();
    const now = new Date();
    for (const id of ids) {
      const { before, after } = await this.deps.iocs.updateSummary(id, (cur) =>
        rescoredSummary(cur, allowlistMatch(entries, cur.type, cur.value), now),
      );
      await this.publishIfChanged(before, after);
    }
    this.deps.repo.invalidate();
  }

  /**
   * Stores the score of IOCs whose stored score expired (a verdict lapsed): history row
   * and iocEnriched as for any change. Lists already use the lapsed score until then.
   * Returns how many it re-scored.
   */
  async rescoreExpired(limit: number): Promise<number> {
    const ids = await this.deps.iocs.scoreExpired(limit);
    if (ids.length === 0) return 0;
    const entries = await this.allowlist();
    let failed = 0;
    for (const id of ids) {
      const now = new Date();
      try {
        const { before, after } = await this.deps.iocs.updateSummary(id, (cur) =>
          rescoredSummary(cur, allowlistMatch(entries, cur.type, cur.value), now),
        );
        await this.publishIfChanged(before, after);
      } catch (err) {
        // One row that cannot be re-scored must not hold back the others; it is tried
        // again on the next run (lists already serve its lapsed score).
        failed += 1;
        if (failed === 1) this.log.warn({ ioc: id, err: (err as Error).message }, 'expired score not stored');
      }
    }
    this.deps.repo.invalidate();
    if (failed === ids.length) throw new Error(`none of ${ids.length} expired scores could be stored`);
    return ids.length;
  }

  private async publishIfChanged(before: StoredIoc, after: StoredIoc): Promise<void> {
    if (!scoreChanged(before, after)) return;
    await this.deps.bus
      .publish(IOC_ENRICHED_TOPIC, toRecord(after))
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'iocEnriched publish failed'));
  }
}

/** The summary with its score fused again from the stored sources, as of the last enrichment. */
function rescoredSummary(
  cur: StoredIoc,
  allowlisted: StoredAllowlistMatch | null,
  now: Date,
): IocSummaryUpdate {
  return {
    sources: cur.sources,
    lastEnrichedAt: cur.lastEnrichedAt,
    nextEnrichAt: cur.nextEnrichAt,
    ...rescore(cur, cur.sources, allowlisted, cur.lastEnrichedAt ?? now, now.getTime()),
  };
}

/** The collector comes back when a verdict lapses, so the stored score follows. */
export function revisitAtExpiry(next: Date | null, verdict: StoredVerdict | null | undefined): Date | null {
  if (!verdict?.expiresAt) return next;
  const at = new Date(verdict.expiresAt);
  if (at.getTime() <= Date.now()) return next;
  return next === null || at < next ? at : next;
}

function checkNote(note: string | null | undefined): string {
  return checkText('note', note, MAX_NOTE_LENGTH) ?? '';
}

function checkExpiry(value: Date | string | null | undefined, now: Date): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const at = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(at.getTime()))
    throw badInput('expiresAt is not a valid date-time', { argument: 'expiresAt' });
  if (at.getTime() <= now.getTime())
    throw badInput(`expiresAt ${at.toISOString()} is not in the future`, { argument: 'expiresAt' });
  if (at.getTime() > now.getTime() + MAX_VERDICT_DAYS * DAY_MS)
    throw badInput(`expiresAt is more than ${MAX_VERDICT_DAYS} days ahead; set a nearer expiry or none`, {
      argument: 'expiresAt',
      limit: MAX_VERDICT_DAYS,
    });
  return at;
}
