/**
 * The feeds firewalls and SIEMs poll: a blocklist (plain, ipset or nftables), IOCs as
 * CSV and as a STIX 2.1 bundle. Each request reads one snapshot: first the feed's
 * validator (counters of the changes to the tables it reads and the next expiry inside
 * it, one small statement), which gives a strong ETag, so a poll whose If-None-Match
 * still matches is answered without reading a row of the feed;
 * otherwise the rows stream from a cursor a batch at a time, pulled only as fast as the
 * client reads, and a client that goes away closes the cursor.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { v5 as uuidv5 } from 'uuid';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { csvLines } from './csv.js';
import {
  blocklistSql,
  iocFeedSql,
  toIocRow,
  type FeedInput,
  type FeedRepository,
  type FeedSnapshot,
  type SqlQuery,
} from './feed-repository.js';
import {
  blocklistParams,
  booleanParam,
  iocFeedParams,
  type BlocklistParams,
  type RawParams,
} from './feed-params.js';
import type { FeedConditions, FeedIocRow, FeedResponse } from './feed-types.js';
import { identityObject, indicatorOf, sightingOf, STIX_NAMESPACE } from './stix.js';

/** Bumped when a feed's layout or its validator changes, so cached ETags stop matching. */
const FEED_LAYOUT = 2;
/** Feeds streaming at once on this instance (each holds a database connection). */
export const MAX_CONCURRENT_FEEDS = 4;
const BUSY_RETRY_AFTER_S = 5;

/** What the IOC feeds (CSV, STIX) depend on: the IOCs' shown columns and verdict expiries. */
const IOC_INPUTS: readonly FeedInput[] = ['iocs', 'verdict_expiry'];
/** And STIX sightings: threat events and alerts. */
const SIGHTING_INPUTS: readonly FeedInput[] = ['threat_events', 'alerts'];

export const IOC_CSV_HEADER = [
  'value',
  'type',
  'risk_score',
  'risk_level',
  'categories',
  'sources',
  'verdict',
  'first_seen_at',
  'last_enriched_at',
] as const;

/** An address or a CIDR block with a prefix length that fits the family. */
export function isAddressOrCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return isIP(value) !== 0;
  const family = isIP(value.slice(0, slash));
  const prefix = value.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** True when an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks) or is `*`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

export class FeedService {
  private active = 0;

  constructor(
    private readonly repo: FeedRepository,
    private readonly log: Logger,
  ) {}

  /** GET /feeds/blocklist.txt */
  blocklist(params: RawParams, when: FeedConditions): Promise<FeedResponse> {
    const p = blocklistParams(params);
    const q = blocklistSql(p);
    const key = `blocklist|${p.format}|${p.source}|${p.minScore}|${p.decisionType}|${p.family ?? ''}|${p.setName}`;
    const inputs: FeedInput[] = [];
    if (p.source !== 'iocs') inputs.push('decisions', 'decision_expiry');
    if (p.source !== 'decisions') inputs.push('iocs_blocklist');
    return this.serve(key, inputs, when, 'text/plain; charset=utf-8', (snap) =>
      this.blocklistBody(snap, q, p),
    );
  }

  /** GET /feeds/iocs.csv */
  iocsCsv(params: RawParams, when: FeedConditions): Promise<FeedResponse> {
    const p = iocFeedParams(params);
    const q = iocFeedSql(p, false);
    const key = `iocs.csv|${p.minScore}|${p.types.join(',')}`;
    return this.serve(key, IOC_INPUTS, when, 'text/csv; charset=utf-8; header=present', (snap) =>
      this.csvBody(snap, q),
    );
  }

  /** GET /feeds/stix */
  stix(params: RawParams, when: FeedConditions): Promise<FeedResponse> {
    const p = iocFeedParams(params, ['sightings']);
    const withSightings = booleanParam(params, 'sightings', true);
    const q = iocFeedSql(p, withSightings);
    const key = `stix|${p.minScore}|${p.types.join(',')}|${withSightings}`;
    const inputs = withSightings ? [...IOC_INPUTS, ...SIGHTING_INPUTS] : IOC_INPUTS;
    return this.serve(key, inputs, when, 'application/stix+json; version=2.1', (snap, etag) =>
      this.stixBody(snap, q, etag),
    );
  }

  private async serve(
    key: string,
    inputs: readonly FeedInput[],
    when: FeedConditions,
    contentType: string,
    body: (snap: FeedSnapshot, etag: string) => AsyncGenerator<string>,
  ): Promise<FeedResponse> {
    if (this.active >= MAX_CONCURRENT_FEEDS) {
      throw new AppError(
        'RATE_LIMITED',
        `At most ${MAX_CONCURRENT_FEEDS} feeds stream at once; retry shortly`,
        {
          retryAfterSeconds: BUSY_RETRY_AFTER_S,
        },
      );
    }
    this.active++;
    let snap: FeedSnapshot | undefined;
    let handedOver = false;
    try {
      snap = await this.repo.openSnapshot();
      const validator = await snap.validator(inputs);
      const digest = createHash('sha256').update(`${FEED_LAYOUT}|${key}|${validator}`).digest('base64url');
      const etag = `"${digest.slice(0, 32)}"`;
      const notModified = matchesEtag(when.ifNoneMatch, etag);
      if (notModified || when.headOnly) return { etag, contentType, notModified, body: undefined };
      handedOver = true;
      return { etag, contentType, notModified, body: this.guarded(snap, body(snap, etag)) };
    } finally {
      if (!handedOver) {
        this.active--;
        await snap?.close();
      }
    }
  }

  /** Closes the snapshot however the body ends: finished, failed, or the client left. */
  private async *guarded(snap: FeedSnapshot, body: AsyncGenerator<string>): AsyncGenerator<string> {
    let failure: unknown;
    try {
      yield* body;
    } catch (err) {
      failure = err;
      this.log.warn({ err }, 'feed ended early');
      throw err;
    } finally {
      this.active--;
      await snap.close(failure);
    }
  }

  private async *blocklistBody(snap: FeedSnapshot, q: SqlQuery, p: BlocklistParams): AsyncGenerator<string> {
    if (p.format === 'ipset') {
      const family = p.family === 6 ? 'inet6' : 'inet';
      const maxelem = Math.max(65_536, await snap.count(q));
      const staging = `${p.setName}-new`;
      yield `create ${staging} hash:net family ${family} maxelem ${maxelem} -exist\nflush ${staging}\n`;
      for await (const rows of snap.batches<{ value: string }>(q)) {
        yield rows
          .filter((r) => isAddressOrCidr(r.value))
          .map((r) => `add ${staging} ${r.value}\n`)
          .join('');
      }
      yield (
        `create ${p.setName} hash:net family ${family} maxelem ${maxelem} -exist\n` +
        `swap ${staging} ${p.setName}\ndestroy ${staging}\n`
      );
      return;
    }
    if (p.format === 'nft') {
      const families = p.family === undefined ? [4, 6] : [p.family];
      yield (
        `add table inet ${p.setName}\n` +
        families
          .map((f) => {
            const set = `blocklist_v${f}`;
            return (
              `add set inet ${p.setName} ${set} { type ipv${f}_addr; flags interval; auto-merge; }\n` +
              `flush set inet ${p.setName} ${set}\n`
            );
          })
          .join('')
      );
      for await (const rows of snap.batches<{ value: string }>(q)) {
        for (const f of families) {
          const values = rows
            .map((r) => r.value)
            .filter((v) => isAddressOrCidr(v) && (v.includes(':') ? 6 : 4) === f);
          if (values.length > 0)
            yield `add element inet ${p.setName} blocklist_v${f} { ${values.join(', ')} }\n`;
        }
      }
      return;
    }
    for await (const rows of snap.batches<{ value: string }>(q)) {
      yield rows
        .filter((r) => isAddressOrCidr(r.value))
        .map((r) => `${r.value}\n`)
        .join('');
    }
  }

  private async *csvBody(snap: FeedSnapshot, q: SqlQuery): AsyncGenerator<string> {
    yield csvLines([IOC_CSV_HEADER]);
    for await (const rows of snap.batches<Parameters<typeof toIocRow>[0]>(q)) {
      yield csvLines(rows.map((r) => csvRow(toIocRow(r))));
    }
  }

  private async *stixBody(snap: FeedSnapshot, q: SqlQuery, etag: string): AsyncGenerator<string> {
    const id = `bundle--${uuidv5(`bundle:${etag}`, STIX_NAMESPACE)}`;
    yield `{"type":"bundle","id":"${id}","objects":[${JSON.stringify(identityObject)}`;
    for await (const rows of snap.batches<Parameters<typeof toIocRow>[0]>(q)) {
      let chunk = '';
      for (const r of rows) {
        const row = toIocRow(r);
        chunk += `,${JSON.stringify(indicatorOf(row))}`;
        const sighting = sightingOf(row);
        if (sighting) chunk += `,${JSON.stringify(sighting)}`;
      }
      yield chunk;
    }
    yield ']}\n';
  }
}

export function csvRow(r: FeedIocRow) {
  return [
    r.value,
    r.type,
    r.riskScore,
    r.riskLevel,
    r.categories,
    r.sources,
    r.verdict,
    r.firstSeenAt,
    r.lastEnrichedAt,
  ] as const;
}
