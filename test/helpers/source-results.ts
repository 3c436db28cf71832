/** A source's answer for the scoring tests: OK with a score, fetched at the tests' fixed `NOW`. */
import type { SourceName, SourceResult } from '../../src/iocs/sources/source-adapter.js';

export const NOW = new Date('2026-06-15T12:00:00Z');

export const ok = (
  source: SourceName,
  score: number | null,
  extra: Partial<SourceResult> = {},
): SourceResult => ({
  source,
  status: 'OK',
  score,
  categories: [],
  data: {},
  durationMs: 10,
  fetchedAt: NOW,
  ...extra,
});
