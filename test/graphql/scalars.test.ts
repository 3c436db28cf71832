import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { scalarResolvers } from '../../src/graphql/scalars.js';

const schema = makeExecutableSchema({
  typeDefs:
    'scalar DateTime\nscalar JSON\ntype Query { at(value: DateTime): DateTime, fromString: DateTime }',
  resolvers: {
    ...scalarResolvers,
    Query: {
      at: (_: unknown, args: { value?: Date }) => args.value ?? new Date(Date.UTC(2026, 11, 3, 13, 4, 5, 6)),
      fromString: () => '2026-12-03T14:04:05.006+01:00',
    },
  },
});

function run(query: string): ReturnType<typeof execute> {
  return execute({ schema, document: parse(query) });
}

describe('DateTime scalar', () => {
  it('serialises to the ISO string itself, so answers hold no Date objects', async () => {
    const result = await run('{ at fromString }');
    expect(result.errors).toBeUndefined();
    // Strings, not Dates: JSON.stringify takes its slow path on every Date.
    expect(result.data).toEqual({ at: '2026-12-03T13:04:05.006Z', fromString: '2026-12-03T13:04:05.006Z' });
    expect(typeof (result.data as { at: unknown }).at).toBe('string');
  });

  it('still parses and validates inputs as dates', async () => {
    const ok = await run('{ at(value: "2026-01-02T03:04:05Z") }');
    expect(ok.data).toEqual({ at: '2026-01-02T03:04:05.000Z' });
    const bad = await run('{ at(value: "yesterday") }');
    expect(bad.errors?.[0]?.message).toMatch(/invalid value "yesterday"/);
  });
});
