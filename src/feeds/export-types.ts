/** Exports: what a list hands the export service, and what a signed link carries. */
import type { Cursor } from '../platform/page.js';
import type { CsvCell } from './csv.js';

export const EXPORT_KINDS = ['THREAT_EVENTS', 'IOCS', 'DECISIONS', 'ALERTS'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export type ExportFormat = 'CSV' | 'JSONL';

export interface ExportColumn<T> {
  name: string;
  get(row: T): CsvCell;
}

/**
 * One list as exports read it: keyset pages through the list's own service (the same
 * filter checks and semantics as the GraphQL query), newest first.
 */
export interface ExportSource<T = unknown> {
  /** Checks `filter` (throws BAD_USER_INPUT naming the field) and returns it JSON-ready. */
  check(filter: unknown): Promise<unknown>;
  page(
    filter: unknown,
    first: number,
    after: Cursor | undefined,
  ): Promise<{ rows: T[]; hasNextPage: boolean }>;
  keyOf(row: T): Cursor;
  columns: readonly ExportColumn<T>[];
  /** The row as one JSON line. */
  json(row: T): unknown;
}

export type ExportSources = { readonly [K in ExportKind]: ExportSource<never> };

/** What a signed export link carries. */
export interface ExportGrant {
  keyId: string;
  kind: ExportKind;
  filter: unknown;
  format: ExportFormat;
  /** Unix seconds. */
  expiresAt: number;
}

/** A key's role and a secret only that key's links are signed with; undefined once revoked. */
export type KeySecretLookup = (keyId: string) => Promise<{ role: string; secret: Buffer } | undefined>;

export interface ExportLink {
  path: string;
  url: string;
  expiresAt: Date;
  format: ExportFormat;
}
