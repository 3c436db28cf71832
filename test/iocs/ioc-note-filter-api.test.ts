/**
 * The iocs list's noteContains filter through the API: a case-insensitive substring of
 * the note, where %, _ and \ in the user's text are the characters themselves (not LIKE
 * wildcards or escapes), the same whether the table is read or the trigram index serves
 * the filter (forced on the list's own statement); NUL and lone surrogates are refused
 * with BAD_USER_INPUT.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IocRepository } from '../../src/iocs/ioc-repository.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { testPool } from '../helpers/test-pool.js';

let t: TestApp;
let pool: pg.Pool;

beforeAll(async () => {
  t = await startTestApp('ioc_note_filter', { IOC_COLLECTOR_ENABLED: 'false' });
  pool = testPool(t.databaseUrl, { max: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await t?.stop();
});

async function ok<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await t.gql<T>(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const NOTES = {
  wave: 'C2 of the Q4 phishing WAVE',
  percent: 'seen 100% of nights',
  hundred: 'seen 100 of nights',
  underscore: 'drops file_name.exe',
  letter: 'drops fileXname.exe',
  backslash: 'writes C:\\temp\\x.dll',
  plain: 'writes C:tempx.dll',
  quote: "the actor's 'beacon' \"c2\"",
  unicode: 'Straße in München',
} as const;
type Key = keyof typeof NOTES;

let p: string;
const valueOf = (k: Key) => `${p}-${k}.com`;

beforeAll(async () => {
  p = `n${randomBytes(5).toString('hex')}`;
  for (const [k, note] of Object.entries(NOTES)) {
    await ok(`mutation($v: String!, $n: String) { setIocNote(value: $v, note: $n) { value } }`, {
      v: valueOf(k as Key),
      n: note,
    });
  }
  // One IOC without a note never matches.
  await ok(`mutation($v: String!) { tagIoc(value: $v, tags: ["x"]) { value } }`, { v: `${p}-none.com` });
});

const matching = async (text: string): Promise<string[]> => {
  const d = await ok<{ iocs: { totalCount: number; edges: { node: { value: string } }[] } }>(
    `query($f: IocFilter) { iocs(filter: $f, first: 50) { totalCount edges { node { value } } } }`,
    { f: { valuePrefix: p, noteContains: text } },
  );
  expect(d.iocs.totalCount).toBe(d.iocs.edges.length);
  return d.iocs.edges.map((e) => e.node.value).sort();
};
const only = (...keys: Key[]) => keys.map(valueOf).sort();

const cases: [string, Key[]][] = [
  ['q4 phishing wave', ['wave']],
  ['WAVE', ['wave']],
  ['100%', ['percent']],
  ['%', ['percent']],
  ['0% o', ['percent']],
  ['e_n', ['underscore']],
  ['_', ['underscore']],
  ['\\', ['backslash']],
  ['\\temp', ['backslash']],
  ['c:\\TEMP\\x', ['backslash']],
  ['\\%', []],
  ['%%', []],
  ['__', []],
  ['\'beacon\' "c2"', ['quote']],
  ['tempx', ['plain']],
  ['straße', ['unicode']],
  ['drops file', ['letter', 'underscore']],
  ['seen 100', ['hundred', 'percent']],
  ['nothing like it', []],
];

describe('noteContains', () => {
  const run = async () => {
    for (const [text, keys] of cases) expect([text, await matching(text)]).toEqual([text, only(...keys)]);
  };

  it('matches the text itself, case-insensitively, with %, _ and \\ taken literally', run);

  it('refuses NUL and lone surrogates with BAD_USER_INPUT naming the argument', async () => {
    for (const text of ['a\u0000b', 'a\ud800', '\udc00']) {
      const res = await t.gql(`query($f: IocFilter) { iocs(filter: $f) { totalCount } }`, {
        f: { noteContains: text },
      });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.argument).toBe('filter.noteContains');
    }
  });

  it('gives the same answers when the trigram index serves the filter', async () => {
    // The list's own statement on sessions that may not scan the table or another
    // index: the trigram index (which the migration created, this server having
    // pg_trgm) must serve it, and must not change a single answer.
    const forced = testPool(t.databaseUrl, {
      max: 1,
      options: '-c enable_seqscan=off -c enable_indexscan=off',
    });
    const statements: pg.QueryConfig[] = [];
    const spy = new Proxy(forced, {
      get(target, prop, receiver) {
        if (prop === 'query')
          return (config: pg.QueryConfig) => {
            statements.push(config);
            return target.query(config);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    try {
      const repo = new IocRepository(spy);
      for (const [text, keys] of cases) {
        const page = await repo.list({ valuePrefix: p, noteContains: text }, 50, undefined, false);
        expect([text, page.rows.map((r) => r.value).sort()]).toEqual([text, only(...keys)]);
      }
      const s = statements[0]!;
      const plan = await forced.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${s.text}`, s.values);
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
        /Bitmap Index Scan on iocs_note_trgm_idx/,
      );
    } finally {
      await forced.end();
    }
  });
});
