import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fromRoot } from '../src/platform/paths.js';

/**
 * docs/operations.md's configuration table has one row per variable of .env.example (the
 * file operators copy), and no row for a variable that file does not have.
 */
it('docs/operations.md documents every variable of .env.example', () => {
  const env = readFileSync(fromRoot('.env.example'), 'utf8');
  const declared = [...env.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? '');
  const doc = readFileSync(fromRoot('docs/operations.md'), 'utf8');
  const table = doc.slice(
    doc.indexOf('## Configuration'),
    doc.indexOf('\n## ', doc.indexOf('## Configuration') + 1),
  );
  const documented = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]*)` /gm)].map((m) => m[1] ?? '');
  expect(documented.sort()).toEqual([...new Set(declared)].sort());
});
