import { describe, expect, it } from 'vitest';
import {
  DecisionStreamParser,
  MAX_DECISION_BYTES,
  type DecisionBatch,
} from '../../src/crowdsec/decision-stream-parser.js';
import { decisionJson, snapshotPieces } from '../fakes/fake-lapi-snapshot.js';

/** Feeds `body` in chunks of `size` bytes and returns every batch. */
function parse(body: string, size = body.length, batch = 1000): DecisionBatch[] {
  const parser = new DecisionStreamParser(batch);
  const bytes = Buffer.from(body);
  const out: DecisionBatch[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    parser.write(bytes.subarray(i, i + size));
    out.push(...parser.take());
  }
  parser.end();
  return [...out, ...parser.take()];
}

const summary = (batches: DecisionBatch[]) => batches.map((b) => `${b.list}:${b.decisions.length}`);

describe('DecisionStreamParser', () => {
  it('hands out validated decisions in batches, one list per batch, whatever the chunking', () => {
    const body = [...snapshotPieces({ count: 2500, deleted: 3 })].join('');
    for (const size of [7, 4096, body.length]) {
      expect(summary(parse(body, size))).toEqual(['deleted:3', 'new:1000', 'new:1000', 'new:500']);
    }
    const small = [...snapshotPieces({ count: 5, deleted: 2 })].join('');
    expect(summary(parse(small, 1, 2))).toEqual(['deleted:2', 'new:2', 'new:2', 'new:1']);
    const first = parse(body)[1]!.decisions[0]!;
    expect(first).toEqual(JSON.parse(decisionJson(1)));
  });

  it('reads LAPI 1.4 null lists, missing lists and unknown fields as empty', () => {
    expect(parse('{"new":null,"deleted":null}')).toEqual([]);
    expect(parse('{}')).toEqual([]);
    expect(parse('{"version":"1.7","extra":{"new":5},"new":[]}\n')).toEqual([]);
  });

  it('multi-byte text split across chunks stays intact', () => {
    const d = { ...(JSON.parse(decisionJson(9)) as object), scenario: 'é→漢字 ssh-bf' };
    const [batch] = parse(`{"new":[${JSON.stringify(d)}]}`, 1);
    expect(batch?.decisions[0]?.scenario).toBe('é→漢字 ssh-bf');
  });

  it('refuses bodies that are not a decision stream, instead of reading them as empty', () => {
    for (const body of [
      '[]',
      'null',
      '"new"',
      '{"new":5}',
      '{"deleted":{"id":1}}',
      '{"new":[{"id":"x"}]}',
      '{"new":[1]}',
      '<html>',
      '{"new":[',
      '',
      '{"new":[]} {"new":[]}',
    ]) {
      expect(() => parse(body), body).toThrow(expect.objectContaining({ kind: 'BAD_RESPONSE' }) as Error);
    }
  });

  it('stops at a single oversized decision', () => {
    const huge = decisionJson(1).replace('"scenario":"', `"scenario":"${'x'.repeat(MAX_DECISION_BYTES)}`);
    expect(() => parse(`{"new":[${huge},${decisionJson(2)}]}`, 1024)).toThrow(/larger than/);
  });
});
