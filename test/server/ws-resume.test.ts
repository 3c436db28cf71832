import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { groupPlan } from '../../src/server/ws-resume.js';

/**
 * Which fan-out group a subscription's live results come from (src/server/ws-resume.ts),
 * case by case. The expected keys are written out here as the group key's own format
 * (JSON of role, operation name, variables, query), not computed by the module.
 */
type Payload = { query: string; operationName?: string | null; variables?: Record<string, unknown> | null };
const key = (role: string, p: Payload) =>
  JSON.stringify([role, p.operationName ?? null, p.variables ?? null, p.query]);
const plan = (p: Payload, role = 'READER') => groupPlan(role, p, parse(p.query));

const RESUMABLE =
  'subscription S($after: String, $min: Int) { threatDetected(after: $after, minSeverity: $min) { id } }';

describe('groupPlan', () => {
  it('a cursor variable left absent or null: the group of the operation without that variable', () => {
    const live = key('READER', { query: RESUMABLE, variables: { min: 5 } });
    expect(plan({ query: RESUMABLE, variables: { min: 5 } })).toEqual({ key: live });
    expect(plan({ query: RESUMABLE, variables: { min: 5, after: null } })).toEqual({ key: live });
    // No variables at all: the same as an empty set.
    expect(plan({ query: RESUMABLE })).toEqual({ key: key('READER', { query: RESUMABLE, variables: {} }) });
  });

  it('a cursor in the variable: its own key, and the live group of the same variables without it', () => {
    const p = { query: RESUMABLE, variables: { min: 5, after: 'c1' } };
    expect(plan(p)).toEqual({
      key: key('READER', p),
      live: { key: key('READER', { query: RESUMABLE, variables: { min: 5 } }), variables: { min: 5 } },
    });
    // Another cursor: another key of its own, the same live group.
    const other = plan({ query: RESUMABLE, variables: { min: 5, after: 'c2' } });
    expect(other.live?.key).toBe(plan(p).live?.key);
    expect(other.key).not.toBe(plan(p).key);
    // The role splits groups.
    expect(plan(p, 'ADMIN').live?.key).toBe(key('ADMIN', { query: RESUMABLE, variables: { min: 5 } }));
  });

  it('finds the cursor among other arguments and variables, wherever it is written', () => {
    const query =
      'subscription($min: Int!, $after: String) { threatDetected(minSeverity: $min, after: $after) { id } }';
    const p = { query, variables: { min: 5, after: 'c1' } };
    expect(plan(p)).toEqual({
      key: key('READER', p),
      live: { key: key('READER', { query, variables: { min: 5 } }), variables: { min: 5 } },
    });
  });

  it('keeps the operation as sent when it has no cursor argument, with or without variables', () => {
    const query = 'subscription { threatDetected { id } }';
    expect(plan({ query })).toEqual({ key: key('READER', { query }) });
    expect(plan({ query, variables: null })).toEqual({ key: key('READER', { query, variables: null }) });
    // An operationName that names no operation: nothing to group by either.
    const named = { query: RESUMABLE, operationName: 'Missing', variables: { after: 'c1' } };
    expect(plan(named)).toEqual({ key: key('READER', named) });
  });

  it('keeps the operation as sent when the cursor variable is required, defaulted or used twice, or the root has two fields', () => {
    for (const query of [
      'subscription($after: String!) { threatDetected(after: $after) { id } }',
      'subscription($after: String = "x") { threatDetected(after: $after) { id } }',
      'subscription($after: String) { threatDetected(after: $after) { id description @include(if: false) } a: heartbeat { __typename } }',
      'subscription($after: String) { threatDetected(after: $after, sensor: $after) { id } }',
      'subscription($after: String) { threatDetected(after: $after) { id } heartbeat }',
      'subscription { threatDetected { id } }',
      'subscription { threatDetected(after: null) { id } }',
      'query($after: String) { threatEvents(after: $after) { totalCount } }',
    ]) {
      const p = { query, variables: { after: 'c1' } };
      expect(plan(p), query).toEqual({ key: key('READER', p) });
    }
  });

  it('a cursor written in the text: its own key, and the live group of the document printed without it', () => {
    const query = 'subscription Live { threatDetected(minSeverity: 3, after: "c1") { id } }';
    const without = print(parse('subscription Live { threatDetected(minSeverity: 3) { id } }'));
    const p = { query, operationName: 'Live', variables: { unused: 1 } };
    const got = plan(p);
    expect(got.key).toBe(key('READER', p));
    expect(got.live?.key).toBe(
      key('READER', { query: without, operationName: 'Live', variables: { unused: 1 } }),
    );
    expect(got.live?.variables).toEqual({ unused: 1 });
    expect(print(got.live!.document!)).toBe(without);
    // Another cursor and other spacing: the same live group.
    const again = plan({
      query: 'subscription Live {\n  threatDetected(after: "c2",\n minSeverity: 3) { id }\n}',
      operationName: 'Live',
      variables: { unused: 1 },
    });
    expect(again.live?.key).toBe(got.live?.key);
    // The remaining arguments' order is part of the document: another group.
    const reordered = plan({
      ...p,
      query: 'subscription Live { threatDetected(after: "c1", minSeverity: 3, sensor: "s") { id } }',
    });
    expect(reordered.live?.key).not.toBe(
      plan({
        ...p,
        query: 'subscription Live { threatDetected(sensor: "s", minSeverity: 3, after: "c1") { id } }',
      }).live?.key,
    );
    const same = plan({ ...p, query: 'subscription Live{threatDetected(minSeverity:3,after:"c9"){id}}' });
    expect(same.live?.key).toBe(got.live?.key);
  });

  it('picks the operation operationName names', () => {
    const query = `query Q { __typename }
      subscription S($after: String) { threatDetected(after: $after) { id } }`;
    expect(plan({ query, operationName: 'Q', variables: { after: 'c1' } })).toEqual({
      key: key('READER', { query, operationName: 'Q', variables: { after: 'c1' } }),
    });
    expect(plan({ query, operationName: 'S', variables: { after: 'c1' } }).live).toEqual({
      key: key('READER', { query, operationName: 'S', variables: {} }),
      variables: {},
    });
  });
});
