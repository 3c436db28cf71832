/**
 * Exports of threat events, IOCs, decisions and alerts as CSV or JSON Lines. Asking
 * for one checks the filter and returns a short-lived link: a token carrying the kind,
 * filter, format, expiry and the asking key's id, signed with HMAC-SHA256 under a secret
 * derived from that key. Downloading re-checks the key, so revoking it stops its links
 * at once; the rows then stream page by page through the list's own service, each page
 * fetched only after the previous one was written, so memory stays flat at any size.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { badInput, unauthenticated } from '../platform/errors.js';
import type { Cursor } from '../platform/page.js';
import { csvLines } from './csv.js';
import {
  EXPORT_KINDS,
  type ExportFormat,
  type ExportGrant,
  type ExportKind,
  type ExportLink,
  type ExportSource,
  type ExportSources,
  type KeySecretLookup,
} from './export-types.js';

/** How long an export link works. */
export const EXPORT_LINK_TTL_S = 900;
/** Rows per page read from a list while exporting. */
export const EXPORT_PAGE_ROWS = 1_000;
/** Longest token accepted (a filter with 250 countries fits). */
export const MAX_EXPORT_TOKEN = 8_192;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

const sign = (secret: Buffer, payload: string) => createHmac('sha256', secret).update(payload).digest();

export class ExportService {
  constructor(
    private readonly sources: ExportSources,
    private readonly keySecret: KeySecretLookup,
    private readonly publicUrl: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** A link to download `kind` rows matching `filter` as `format`, for the key `keyId`. */
  async create(keyId: string, kind: ExportKind, filter: unknown, format: ExportFormat): Promise<ExportLink> {
    const checked = await this.sources[kind].check(filter ?? {});
    const key = await this.keySecret(keyId);
    if (!key) throw unauthenticated('This API key has been revoked');
    const expiresAt = Math.floor(this.now() / 1000) + EXPORT_LINK_TTL_S;
    const grant = { k: keyId, x: kind, f: checked, o: format, e: expiresAt };
    const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
    const token = `${payload}.${sign(key.secret, payload).toString('base64url')}`;
    if (token.length > MAX_EXPORT_TOKEN)
      throw badInput(`the filter is too large for an export link (at most ${MAX_EXPORT_TOKEN} characters)`, {
        argument: 'filter',
        limit: MAX_EXPORT_TOKEN,
      });
    const path = `/exports/download?token=${token}`;
    return {
      path,
      url: this.publicUrl ? `${this.publicUrl.replace(/\/$/, '')}${path}` : path,
      expiresAt: new Date(expiresAt * 1000),
      format,
    };
  }

  /** The grant a token carries, or UNAUTHENTICATED (malformed, forged, expired, key revoked). */
  async open(token: string): Promise<ExportGrant> {
    const invalid = () => unauthenticated('This export link is not valid');
    if (token.length > MAX_EXPORT_TOKEN || !TOKEN_SHAPE.test(token)) throw invalid();
    const [payload, mac] = token.split('.') as [string, string];
    let grant: { k?: unknown; x?: unknown; f?: unknown; o?: unknown; e?: unknown };
    try {
      grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof grant;
    } catch {
      throw invalid();
    }
    if (
      typeof grant !== 'object' ||
      grant === null ||
      typeof grant.k !== 'string' ||
      !(EXPORT_KINDS as readonly unknown[]).includes(grant.x) ||
      (grant.o !== 'CSV' && grant.o !== 'JSONL') ||
      typeof grant.e !== 'number'
    )
      throw invalid();
    const key = await this.keySecret(grant.k);
    if (!key) throw unauthenticated('The API key this export link was made for has been revoked');
    // Compared as text in its one canonical encoding: the last of 43 base64url characters
    // carries two spare bits, and a link differing only there is not the link we made.
    const expected = Buffer.from(sign(key.secret, payload).toString('base64url'));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    if (grant.e * 1000 <= this.now())
      throw unauthenticated('This export link has expired; ask for a new one');
    return {
      keyId: grant.k,
      kind: grant.x as ExportKind,
      filter: grant.f,
      format: grant.o,
      expiresAt: grant.e,
    };
  }

  /** The export's body: a header line for CSV, then one line per row, page by page. */
  async *lines(grant: ExportGrant): AsyncGenerator<string> {
    const source = this.sources[grant.kind] as ExportSource<unknown>;
    if (grant.format === 'CSV') yield csvLines([source.columns.map((c) => c.name)]);
    let after: Cursor | undefined;
    for (;;) {
      const page = await source.page(grant.filter, EXPORT_PAGE_ROWS, after);
      if (page.rows.length === 0) return;
      yield grant.format === 'CSV'
        ? csvLines(page.rows.map((r) => source.columns.map((c) => c.get(r))))
        : page.rows.map((r) => `${JSON.stringify(source.json(r))}\n`).join('');
      if (!page.hasNextPage) return;
      after = source.keyOf(page.rows[page.rows.length - 1]);
    }
  }
}

export const contentTypeOf = (format: ExportFormat) =>
  format === 'CSV' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8';
