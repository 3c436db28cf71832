import { readFileSync } from 'node:fs';
import { parse, validate } from 'graphql';
import { expect, it } from 'vitest';
import { buildSchema } from '../src/graphql/schema.js';
import { fromRoot } from '../src/platform/paths.js';

/** Every GraphQL example in the README must be valid against the schema we serve. */
it('README GraphQL examples validate against schema.graphql', () => {
  const readme = readFileSync(fromRoot('README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const inline = [...readme.matchAll(/"query": ?"([^"]+)"/g)].map((m) => m[1] ?? '');
  const quoted = [...readme.matchAll(/query: '((?:subscription|query|mutation)[^']+)'/g)].map(
    (m) => m[1] ?? '',
  );
  const examples = [...blocks, ...inline, ...quoted];
  expect(examples.length).toBeGreaterThan(5);
  const schema = buildSchema();
  const problems = examples.flatMap((source) =>
    validate(schema, parse(source)).map((e) => `${e.message}\n  in: ${source.trim().slice(0, 120)}`),
  );
  expect(problems).toEqual([]);
});
