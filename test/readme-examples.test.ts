import { readFileSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../src/graphql/schema.js';
import { fromRoot } from '../src/platform/paths.js';

/**
 * Every GraphQL example in the user-facing docs must be valid against the schema we
 * serve: fenced ```graphql blocks, the "query" of curl examples and the query string of
 * JavaScript examples. The counts are the examples each page holds, counted by hand: a
 * changed count means an example was added or removed (update it) or is no longer found.
 */
const PAGES: Record<string, number> = {
  // 15 graphql blocks, 2 curl requests, 2 graphql-ws clients.
  'docs/api.md': 21,
  // The short tour: 2 graphql blocks.
  'README.md': 2,
};

function examplesOf(page: string): string[] {
  const text = readFileSync(fromRoot(page), 'utf8');
  const blocks = [...text.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const inline = [...text.matchAll(/"query": ?"([^"]+)"/g)].map((m) => m[1] ?? '');
  const quoted = [...text.matchAll(/query: '((?:subscription|query|mutation)[^']+)'/g)].map(
    (m) => m[1] ?? '',
  );
  return [...blocks, ...inline, ...quoted];
}

describe('GraphQL examples in the docs validate against schema.graphql', () => {
  const schema = buildSchema();
  for (const [page, count] of Object.entries(PAGES)) {
    it(page, () => {
      const examples = examplesOf(page);
      expect(examples).toHaveLength(count);
      const problems = examples.flatMap((source) =>
        validate(schema, parse(source)).map((e) => `${e.message}\n  in: ${source.trim().slice(0, 120)}`),
      );
      expect(problems).toEqual([]);
    });
  }
});
