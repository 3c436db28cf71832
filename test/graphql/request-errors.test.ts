import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Malformed requests answer a documented code (schema.graphql `ErrorCode`) and a 4xx,
 * never a masked INTERNAL_SERVER_ERROR or a 500.
 */
let t: TestApp;
let codes: Set<string>;

beforeAll(async () => {
  t = await startTestApp('request-errors');
  const res = await t.gql<{ __type: { enumValues: { name: string }[] } }>(
    '{ __type(name: "ErrorCode") { enumValues { name } } }',
  );
  codes = new Set(res.data!.__type.enumValues.map((v) => v.name));
});
afterAll(() => t.stop());

async function post(body: unknown, init: { method?: string; query?: string } = {}) {
  const url = init.query ? `${t.url}?${init.query}` : t.url;
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: {
      authorization: `Bearer ${t.adminKey}`,
      'apollo-require-preflight': 'true',
      ...(init.method === 'GET' ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.method === 'GET' ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, errors: json.errors ?? [] };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('request errors carry a documented code', () => {
  const cases: [string, () => ReturnType<typeof post>, string][] = [
    [
      'persisted query with a hash that does not match',
      () =>
        post({
          query: '{ __typename }',
          extensions: { persistedQuery: { version: 1, sha256Hash: sha('something else') } },
        }),
      'BAD_USER_INPUT',
    ],
    [
      'persisted query with an unknown version',
      () =>
        post({
          query: '{ __typename }',
          extensions: { persistedQuery: { version: 2, sha256Hash: sha('{ __typename }') } },
        }),
      'BAD_USER_INPUT',
    ],
    [
      'persisted query not yet registered',
      () => post({ extensions: { persistedQuery: { version: 1, sha256Hash: sha('{ unknown }') } } }),
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    [
      'a subscription sent over HTTP',
      () => post({ query: 'subscription { alertCreated { id } }' }),
      'BAD_USER_INPUT',
    ],
    [
      'a literal nested 2,000 deep',
      () => post({ query: `{ geoip(ips: ${'['.repeat(2000)}"1.1.1.1"${']'.repeat(2000)}) { ip } }` }),
      'BAD_USER_INPUT',
    ],
    [
      'a mutation over GET',
      () =>
        post(null, {
          method: 'GET',
          query: `query=${encodeURIComponent('mutation { trainClassifier { id } }')}`,
        }),
      'BAD_USER_INPUT',
    ],
    ['no query at all', () => post({ variables: {} }), 'BAD_USER_INPUT'],
    [
      'variables that are not an object',
      () => post({ query: '{ __typename }', variables: [1] }),
      'BAD_USER_INPUT',
    ],
    ['a syntax error', () => post({ query: '{ health { ' }), 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', () => post({ query: '{ nope }' }), 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a variable of the wrong type',
      () => post({ query: 'query ($n: Int) { iocs(first: $n) { totalCount } }', variables: { n: 'x' } }),
      'BAD_USER_INPUT',
    ],
    [
      'an operation name that is not in the document',
      () => post({ query: 'query A { __typename }', operationName: 'B' }),
      'BAD_USER_INPUT',
    ],
  ];

  it.each(cases)('%s', async (_name, send, expected) => {
    const res = await send();
    expect(res.errors.length).toBeGreaterThan(0);
    expect(res.errors[0]!.extensions?.code).toBe(expected);
    expect(codes.has(expected)).toBe(true);
    if (expected === 'PERSISTED_QUERY_NOT_FOUND') {
      expect(res.status).toBe(200); // Apollo's protocol: the client then sends the query text
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('refuses a document nested deeper than the bound before parsing it, naming the limit', async () => {
    // The selection set and the argument list count as two levels: 2 + 63 = 65.
    const deep = await post({ query: `{ geoip(ips: ${'['.repeat(63)}"1.1.1.1"${']'.repeat(63)}) { ip } }` });
    expect(deep.status).toBe(400);
    expect(deep.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit: 'maxNesting' });
    // 2 + 62 = 64 levels still reach the parser, and fail only on the argument's type.
    const ok = await post({ query: `{ geoip(ips: ${'['.repeat(62)}"1.1.1.1"${']'.repeat(62)}) { ip } }` });
    expect(ok.errors[0]!.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(ok.errors[0]!.message).toMatch(/String cannot represent a non string value/);
  });
});

describe('lookupIoc', () => {
  it.each([
    ['refresh: true', 'lookupIoc(refresh: true)'],
    ['debug: true', 'lookupIoc(debug: true)'],
  ])('with %s needs ANALYST: a READER gets FORBIDDEN and nothing is looked up', async (arg, field) => {
    const created = await t.gql<{ createApiKey: { secret: string } }>(
      'mutation { createApiKey(name: "reader", role: READER) { secret } }',
    );
    const reader = created.data!.createApiKey.secret;
    const res = await t.gql(`{ lookupIoc(value: "203.0.113.9", ${arg}) { value } }`, undefined, reader);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.errors?.[0]?.message).toBe(`${field} requires the ANALYST role; this key has READER`);
    const stored = await t.gql<{ ioc: unknown }>('{ ioc(value: "203.0.113.9") { value } }');
    expect(stored.data!.ioc).toBeNull();
  });
});
