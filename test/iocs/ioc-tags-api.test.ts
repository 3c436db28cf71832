/**
 * Tags and notes on IOCs through the GraphQL API: tagIoc adds (set union, normalised
 * lower-case, in order), untagIoc removes, setIocNote sets and clears; each change is
 * one curation audit row with exact before/after and the key that made it, and a call
 * that changes nothing writes none; the iocs filters tagsAny, tagsAll and noteContains
 * select exactly; the bounds refuse bad tags and notes with BAD_USER_INPUT naming the
 * argument; READER keys may read but not write.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

let t: TestApp;
let analyst: { name: string; secret: string };
let reader: string;

beforeAll(async () => {
  t = await startTestApp('ioc_tags_api', { IOC_COLLECTOR_ENABLED: 'false' });
  const make = async (name: string, role: string) => {
    const res = await t.gql<{ createApiKey: { secret: string } }>(
      `mutation($n: String!, $r: Role!) { createApiKey(name: $n, role: $r) { secret } }`,
      { n: name, r: role },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.createApiKey.secret;
  };
  analyst = { name: 'tagging analyst', secret: await make('tagging analyst', 'ANALYST') };
  reader = await make('tag reader', 'READER');
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

const prefix = () => `t${randomBytes(5).toString('hex')}`;

async function as<T>(key: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await t.gql<T>(query, variables, key);
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const TAG = `mutation($v: String!, $t: [String!]!) { tagIoc(value: $v, tags: $t) { value tags note } }`;
const UNTAG = `mutation($v: String!, $t: [String!]!) { untagIoc(value: $v, tags: $t) { value tags note } }`;
const NOTE = `mutation($v: String!, $n: String) { setIocNote(value: $v, note: $n) { value tags note } }`;

interface Change {
  kind: string;
  action: string;
  subject: string;
  before: unknown;
  after: unknown;
  actor: { name: string };
}
const changes = async (subject: string): Promise<Change[]> =>
  (
    await as<{ curationChanges: { edges: { node: Change }[] } }>(
      analyst.secret,
      `query($s: String!) { curationChanges(subject: $s) { edges { node { kind action subject before after actor { name } } } } }`,
      { s: subject },
    )
  ).curationChanges.edges.map((e) => e.node);

describe('tagIoc, untagIoc, setIocNote', () => {
  it('adds as a set union in order, removes, sets and clears the note; each change audited once', async () => {
    const value = `${prefix()}.com`;
    const tag = (tags: string[]) =>
      as<{ tagIoc: { tags: string[] } }>(analyst.secret, TAG, { v: value.toUpperCase(), t: tags });
    expect((await tag(['APT28', ' c2 ', 'apt28'])).tagIoc.tags).toEqual(['apt28', 'c2']);
    // Repeating changes nothing and records nothing.
    expect((await tag(['c2'])).tagIoc.tags).toEqual(['apt28', 'c2']);
    expect((await tag(['tlp:amber', 'campaign/2026-q4', 'C2'])).tagIoc.tags).toEqual([
      'apt28',
      'c2',
      'tlp:amber',
      'campaign/2026-q4',
    ]);
    const untagged = await as<{ untagIoc: { tags: string[] } }>(analyst.secret, UNTAG, {
      v: value,
      t: ['C2', 'never-set'],
    });
    expect(untagged.untagIoc.tags).toEqual(['apt28', 'tlp:amber', 'campaign/2026-q4']);
    const noted = await as<{ setIocNote: { note: string; tags: string[] } }>(analyst.secret, NOTE, {
      v: value,
      n: 'Seen in the Q4 phishing wave',
    });
    expect(noted.setIocNote).toEqual({
      value,
      note: 'Seen in the Q4 phishing wave',
      tags: ['apt28', 'tlp:amber', 'campaign/2026-q4'],
    });
    const cleared = await as<{ setIocNote: { note: string | null } }>(analyst.secret, NOTE, {
      v: value,
      n: '  ',
    });
    expect(cleared.setIocNote.note).toBeNull();
    const stored = await as<{ ioc: { tags: string[]; note: string | null } }>(
      reader,
      `query($v: String!) { ioc(value: $v) { tags note } }`,
      { v: value },
    );
    expect(stored.ioc).toEqual({ tags: ['apt28', 'tlp:amber', 'campaign/2026-q4'], note: null });

    const actor = { name: analyst.name };
    // Newest first.
    expect(await changes(value)).toEqual([
      {
        kind: 'NOTE',
        action: 'CLEAR',
        subject: value,
        before: 'Seen in the Q4 phishing wave',
        after: null,
        actor,
      },
      {
        kind: 'NOTE',
        action: 'SET',
        subject: value,
        before: null,
        after: 'Seen in the Q4 phishing wave',
        actor,
      },
      {
        kind: 'TAGS',
        action: 'REMOVE',
        subject: value,
        before: ['apt28', 'c2', 'tlp:amber', 'campaign/2026-q4'],
        after: ['apt28', 'tlp:amber', 'campaign/2026-q4'],
        actor,
      },
      {
        kind: 'TAGS',
        action: 'ADD',
        subject: value,
        before: ['apt28', 'c2'],
        after: ['apt28', 'c2', 'tlp:amber', 'campaign/2026-q4'],
        actor,
      },
      { kind: 'TAGS', action: 'ADD', subject: value, before: [], after: ['apt28', 'c2'], actor },
    ]);
  });

  it('untagIoc on a value never stored answers null', async () => {
    const res = await as<{ untagIoc: null }>(analyst.secret, UNTAG, { v: `${prefix()}.com`, t: ['x'] });
    expect(res.untagIoc).toBeNull();
  });

  it('READER may read tags but not change them', async () => {
    const res = await t.gql(TAG, { v: `${prefix()}.com`, t: ['x'] }, reader);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const note = await t.gql(NOTE, { v: `${prefix()}.com`, n: 'x' }, reader);
    expect(note.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('filters', () => {
  it('tagsAny, tagsAll and noteContains select exactly, alone and together', async () => {
    const p = prefix();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => `${p}${s}.com`);
    await as(analyst.secret, TAG, { v: a, t: ['apt28', 'c2'] });
    await as(analyst.secret, TAG, { v: b, t: ['apt28'] });
    await as(analyst.secret, TAG, { v: c, t: ['c2', 'botnet'] });
    await as(analyst.secret, NOTE, { v: d, n: 'Our VPN exit, BENIGN' });
    await as(analyst.secret, NOTE, { v: b, n: 'benign scanner?' });
    const list = async (filter: Record<string, unknown>) =>
      (
        await as<{ iocs: { totalCount: number; edges: { node: { value: string } }[] } }>(
          reader,
          `query($f: IocFilter) { iocs(filter: $f, first: 10) { totalCount edges { node { value } } } }`,
          { f: { valuePrefix: p, ...filter } },
        )
      ).iocs.edges
        .map((e) => e.node.value)
        .sort();
    expect(await list({ tagsAny: ['C2'] })).toEqual([a, c]);
    expect(await list({ tagsAny: ['apt28', 'botnet'] })).toEqual([a, b, c]);
    expect(await list({ tagsAll: ['apt28', 'c2'] })).toEqual([a]);
    expect(await list({ tagsAll: ['apt28'], tagsAny: ['c2', 'botnet'] })).toEqual([a]);
    expect(await list({ noteContains: 'benign' })).toEqual([b, d]);
    expect(await list({ noteContains: 'VPN', tagsAny: ['apt28'] })).toEqual([]);
    expect(await list({ tagsAny: ['nothing'] })).toEqual([]);
    expect(await list({})).toEqual([a, b, c, d]);
  });
});

describe('bounds', () => {
  const refused = async (query: string, variables: Record<string, unknown>, argument: string) => {
    const res = await t.gql(query, variables, analyst.secret);
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.argument).toBe(argument);
  };

  it('refuses bad tags, too many tags and bad notes, naming the argument', async () => {
    const v = `${prefix()}.com`;
    await refused(TAG, { v, t: ['has space'] }, 'tags[0]');
    await refused(TAG, { v, t: ['ok', '-leading'] }, 'tags[1]');
    await refused(TAG, { v, t: ['a\u0000b'] }, 'tags[0]');
    await refused(TAG, { v, t: ['a\ud800'] }, 'tags[0]');
    await refused(TAG, { v, t: [''] }, 'tags[0]');
    await refused(TAG, { v, t: ['x'.repeat(65)] }, 'tags[0]');
    await refused(TAG, { v, t: ['é'] }, 'tags[0]');
    await refused(TAG, { v, t: Array.from({ length: 33 }, (_, i) => `t${i}`) }, 'tags');
    await refused(TAG, { v, t: Array.from({ length: 10_000 }, (_, i) => `t${i}`) }, 'tags');
    await refused(NOTE, { v, n: 'x'.repeat(1001) }, 'note');
    await refused(NOTE, { v, n: 'a\u0000' }, 'note');
    await refused(NOTE, { v, n: 'a\udc00' }, 'note');
    await refused(
      `query($f: IocFilter) { iocs(filter: $f) { totalCount } }`,
      { f: { tagsAll: ['bad tag'] } },
      'filter.tagsAll[0]',
    );
    // 64 characters is accepted; nothing refused was stored.
    const ok = await as<{ tagIoc: { tags: string[] } }>(analyst.secret, TAG, { v, t: ['x'.repeat(64)] });
    expect(ok.tagIoc.tags).toEqual(['x'.repeat(64)]);
  });

  it('an IOC carries at most 32 tags: adding past that is refused and changes nothing', async () => {
    const v = `${prefix()}.com`;
    const first = Array.from({ length: 30 }, (_, i) => `t${i}`);
    await as(analyst.secret, TAG, { v, t: first });
    await refused(TAG, { v, t: ['t0', 'new1', 'new2', 'new3'] }, 'tags');
    const full = await as<{ tagIoc: { tags: string[] } }>(analyst.secret, TAG, {
      v,
      t: ['t1', 'new1', 'new2'],
    });
    expect(full.tagIoc.tags).toEqual([...first, 'new1', 'new2']);
  });
});
