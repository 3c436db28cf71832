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

  it('counts what it handed out per list', () => {
    const parser = new DecisionStreamParser(2);
    parser.write([...snapshotPieces({ count: 5, deleted: 3 })].join(''));
    parser.end();
    expect(parser.totals()).toEqual({ new: 5, deleted: 3 });
  });

  it('names what is wrong, and fails on the chunk that shows it', () => {
    const PREFIX = 'GET /v1/decisions/stream: ';
    const failsOnWrite = (body: string) => {
      const parser = new DecisionStreamParser();
      try {
        parser.write(body);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error on write';
    };
    expect(failsOnWrite('[]')).toBe(`${PREFIX}the body is not a JSON object`);
    expect(failsOnWrite('{"new":5}')).toBe(`${PREFIX}"new" is neither a list nor null`);
    // A string value right after a key is a value, not the next key.
    expect(failsOnWrite('{"new":"x"}')).toBe(`${PREFIX}"new" is neither a list nor null`);
    expect(failsOnWrite('{"deleted":{"id":1}}')).toBe(`${PREFIX}"deleted" is neither a list nor null`);
    const invalid = failsOnWrite('{"new":[{}]}');
    expect(invalid.startsWith(`${PREFIX}unexpected decision in "new": [`)).toBe(true);
    // The validation detail is cut at 300 characters.
    expect(invalid).toHaveLength(`${PREFIX}unexpected decision in "new": `.length + 300);
    expect(() => parse('{"new":[')).toThrow(`${PREFIX}Parser ended in mid-parsing (state: VALUE)`);
    expect(() => parse('')).toThrow(`${PREFIX}the body ended before the JSON was complete`);
  });

  it('measures each decision from its own start, and only inside the lists', () => {
    const filler = 'x'.repeat(MAX_DECISION_BYTES + 100);
    // Large values outside "new"/"deleted" are not decisions.
    expect(summary(parse(`{"version":"${filler}","new":[${decisionJson(1)}]}`, 4096))).toEqual(['new:1']);
    expect(summary(parse(`{"extra":[${Array(40_000).fill(0).join(',')}],"new":[]}`, 4096))).toEqual([]);
    // A decision made of many small tokens is still one decision.
    const padded = decisionJson(2).replace('{', `{"padding":[${Array(40_000).fill(0).join(',')}],`);
    expect(() => parse(`{"deleted":[${padded}]}`, 4096)).toThrow(
      `GET /v1/decisions/stream: a decision in "deleted" is larger than ${MAX_DECISION_BYTES} bytes`,
    );
  });
});
