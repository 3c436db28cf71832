/**
 * Free-text vendor labels (OTX tags, VirusTotal categories and verdicts) mapped to our
 * ThreatCategory by keyword tables that each source file declares at its top.
 */
import type { ThreatCategory } from '../ioc-types.js';

export type KeywordRule = readonly [RegExp, ThreatCategory];

/** Categories matched by any label, ordered by how many labels matched them (most first). */
export function categoriesFromLabels(
  labels: Iterable<string>,
  rules: readonly KeywordRule[],
): ThreatCategory[] {
  const counts = new Map<ThreatCategory, number>();
  for (const label of labels) {
    for (const [pattern, category] of rules) {
      if (pattern.test(label)) counts.set(category, (counts.get(category) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}

/** Merges category lists keeping first-seen order and dropping duplicates. */
export const mergeCategories = (...lists: ReadonlyArray<readonly ThreatCategory[]>): ThreatCategory[] => [
  ...new Set(lists.flat()),
];

export const clampScore = (n: number): number => Math.max(0, Math.min(100, Math.round(n)));
