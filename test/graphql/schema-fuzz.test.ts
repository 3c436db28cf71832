import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graphql/schema.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Property: whatever arguments a client sends to any field of the schema (NUL bytes,
 * unpaired surrogates, megabyte strings, JSON thousands deep, extreme numbers and
 * dates, huge lists, forged cursors), the server answers with a documented
 * `extensions.code` — never INTERNAL_SERVER_ERROR, never a 5xx — and still answers
 * `health` afterwards. Arguments are generated from the schema itself, so a field added
 * later is fuzzed without touching this file.
 *
 * CI runs FUZZ_RUNS (default 150) cases per operation kind with a fixed seed; set
 * FUZZ_RUNS and FUZZ_SEED to explore more by hand.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const schema = buildSchema();

let t: TestApp;
let documented: Set<string>;

beforeAll(async () => {
  t = await startTestApp('schema-fuzz', {
    RATE_LIMIT_POINTS: '1000000',
    AUTH_FAILURE_LIMIT: '1000000',
  });
  const res = await t.gql<{ __type: { enumValues: { name: string }[] } }>(
    '{ __type(name: "ErrorCode") { enumValues { name } } }',
  );
  documented = new Set(res.data!.__type.enumValues.map((v) => v.name));
});
afterAll(() => t?.stop());

// ---------------------------------------------------------------------------------
// Values

const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udc00y',
    '\ud83d\ude00',
    '1.2.3.4',
    '::1',
    '999.999.999.999',
    'hxxp://evil[.]com/x',
    'xn--80ak6aa92e.com',
    'd41d8cd98f00b204e9800998ecf8427e',
    'tw_' + 'A'.repeat(43),
    'MjAyNi0xMi0wMlQwMDowMDowMFp8bm90LWEtdXVpZA',
    Buffer.from('0001-01-01T00:00:00.000Z|00000000-0000-0000-0000-000000000000').toString('base64url'),
    Buffer.from('+275760-09-13T00:00:00.000Z|x').toString('base64url'),
    '%00',
    '../../etc/passwd',
    "'; DROP TABLE x; --",
    '4h',
    '-1s',
    '9999999999h',
  ),
  fc.nat({ max: 1_000_000 }).map((n) => 'x'.repeat(n)),
);

const nastyInt = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 32_767, 32_768, -32_769, 10_000, 1_000_000),
);
const nastyFloat = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 0.1),
);
const nastyDate = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '0001-01-01T00:00:00Z',
    '1900-01-01T00:00:00Z',
    '1970-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '2026-02-30T00:00:00Z',
    'yesterday',
    '',
  ),
);
/**
 * JSON up to a thousand levels deep (far past every nesting limit), with awkward keys and
 * strings. Deeper values overflow fast-check's own recursive printer when it reports a
 * counterexample, which hides the failure it found.
 */
const nastyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.nat({ max: 1_000 }).map((depth) => {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }),
  fc.constantFrom({ '\ud800': 1 }, { a: '\u0000' }, ['\udfff'], { a: 1e308 }),
);

function valueOf(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return valueOf(type.ofType, depth);
  const nullable = (arb: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 8, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(null) });
  if (isListType(type)) {
    const item = valueOf(type.ofType, depth + 1);
    return nullable(
      fc.oneof(
        { weight: 6, arbitrary: fc.array(item, { maxLength: 5 }) },
        // Huge lists: the same item repeated (generating 10,000 distinct ones is slow),
        // kept under the body limit's order of magnitude so the request is sent at all.
        {
          weight: 1,
          arbitrary: fc.tuple(item, fc.constantFrom(300, 1_001, 10_000)).map(([v, n]): unknown[] => {
            const size = (JSON.stringify(v) ?? 'null').length;
            return Array.from({ length: size * n > 2_000_000 ? 3 : n }, () => v);
          }),
        },
      ),
    );
  }
  if (isEnumType(type)) {
    return nullable(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...type.getValues().map((v) => v.name)) },
        { weight: 1, arbitrary: fc.constant('NOT_A_VALUE') },
      ),
    );
  }
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant(null);
    const fields = Object.values(type.getFields());
    const record: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) record[f.name] = valueOf(f.type, depth + 1);
    return nullable(fc.record(record, { requiredKeys: [] }));
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return nullable(nastyInt);
      case 'Float':
        return nullable(nastyFloat);
      case 'Boolean':
        return nullable(fc.boolean());
      case 'DateTime':
        return nullable(nastyDate);
      case 'JSON':
        return nullable(nastyJson);
      default:
        return nullable(nastyString);
    }
  }
  return fc.constant(null);
}

// ---------------------------------------------------------------------------------
// Operations

/** The cheapest selection that still makes the field resolve. */
function selectionOf(type: GraphQLOutputType): string {
  const named = getNamedType(type);
  return isObjectType(named) ? ' { __typename }' : '';
}

function operationFor(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>) {
  const defs = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const query = `${kind}${defs ? ` (${defs})` : ''} { ${field.name}${args ? `(${args})` : ''}${selectionOf(field.type)} }`;
  const variables: Record<string, fc.Arbitrary<unknown>> = {};
  for (const a of field.args) variables[a.name] = valueOf(a.type);
  return { query, variables: fc.record(variables, { requiredKeys: [] }) };
}

/** Fields whose work is slow by design whatever the arguments (fuzzed once, not per case). */
const SLOW = new Set(['trainClassifier']);

interface Case {
  name: string;
  query: string;
  variables: Record<string, unknown>;
}

/** One generated request: a field of the root type and variables for its arguments. */
function cases(kind: 'query' | 'mutation' | 'subscription'): fc.Arbitrary<Case> {
  const root =
    kind === 'query'
      ? schema.getQueryType()!
      : kind === 'mutation'
        ? schema.getMutationType()!
        : schema.getSubscriptionType()!;
  const ops = Object.values(root.getFields())
    .filter((f) => !SLOW.has(f.name))
    .map((f) => ({ name: f.name, ...operationFor(kind, f) }));
  return fc.oneof(
    ...ops.map((op) =>
      op.variables.map((variables): Case => ({ name: op.name, query: op.query, variables })),
    ),
  );
}

function checkErrors(
  errors: { message: string; extensions?: { code?: string } }[] | undefined,
  what: string,
) {
  for (const e of errors ?? []) {
    const code = e.extensions?.code ?? '(none)';
    expect(documented.has(code), `${what}: undocumented code ${code}: ${e.message}`).toBe(true);
    expect(code, `${what}: ${e.message}`).not.toBe('INTERNAL_SERVER_ERROR');
  }
}

async function send(query: string, variables: unknown) {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`non-JSON ${res.status} for ${query}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, errors: body.errors };
}

async function stillHealthy() {
  const res = await t.gql<{ health: { database: string } }>('{ health { database } }');
  expect(res.data?.health.database).toBe('UP');
}

describe.each(['query', 'mutation'] as const)('fuzzed %s arguments', (kind) => {
  it(`every ${kind} field answers a documented code for any arguments`, async () => {
    await fc.assert(
      fc.asyncProperty(cases(kind), async (c) => {
        const res = await send(c.query, c.variables);
        const what = `${c.name} ${JSON.stringify(c.variables).slice(0, 300)} → ${JSON.stringify(res.errors ?? null).slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        checkErrors(res.errors, what);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    await stillHealthy();
  }, 600_000);
});

describe('fuzzed subscription arguments (graphql-ws)', () => {
  it('every subscription answers a documented code or subscribes, for any arguments', async () => {
    const client = t.ws();
    await fc.assert(
      fc.asyncProperty(cases('subscription'), async (c) => {
        // A subscription that is accepted stays open: the first of "error", "complete" or
        // a probe query on the same socket answering tells us the server has decided.
        const outcome = await new Promise<{ errors?: unknown; closeCode?: number }>((resolve) => {
          let settled = false;
          const finish = (r: { errors?: unknown; closeCode?: number }) => {
            if (settled) return;
            settled = true;
            unsubscribe();
            resolve(r);
          };
          const unsubscribe = client.subscribe(
            { query: c.query, variables: c.variables },
            {
              next: (v) => finish({ errors: v.errors }),
              error: (err: unknown) =>
                finish(
                  Array.isArray(err) ? { errors: err } : { closeCode: (err as { code?: number }).code ?? -1 },
                ),
              complete: () => finish({}),
            },
          );
          client.subscribe(
            { query: '{ __typename }' },
            { next: () => undefined, error: () => finish({}), complete: () => finish({}) },
          );
        });
        const what = `${c.name} ${JSON.stringify(c.variables).slice(0, 300)} → ${JSON.stringify(outcome.errors ?? null).slice(0, 300)}`;
        checkErrors(outcome.errors as never, what);
        if (outcome.closeCode !== undefined) {
          // The one way a bad subscribe may end the socket: a message over the payload limit.
          const size = Buffer.byteLength(JSON.stringify({ query: c.query, variables: c.variables }));
          expect(outcome.closeCode, what).toBe(1009);
          expect(size, what).toBeGreaterThan(t.config.limits.wsMaxPayloadBytes - 200);
        }
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 3)), seed: SEED, endOnFailure: true },
    );
    await client.dispose();
    await stillHealthy();
  }, 600_000);
});
