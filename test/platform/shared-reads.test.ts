/**
 * SharedReads: identical list reads in flight share one query, different statements or
 * parameters do not, a settled read is not reused, and after invalidate() a new read
 * starts its own query even while the old one is still running. FormattedDate (the
 * dates of shared rows): the text of Date#toISOString, made again when the time changes.
 */
import { describe, expect, it } from 'vitest';
import { FormattedDate, SharedReads } from '../../src/platform/page.js';

/** A read whose rows the test hands over when it chooses; counts how often it started. */
function controlledRead() {
  const started: { resolve: (rows: string[]) => void; reject: (err: Error) => void }[] = [];
  const run = () =>
    new Promise<string[]>((resolve, reject) => {
      started.push({ resolve, reject });
    });
  return { run, started };
}

const page = { text: 'SELECT id FROM t ORDER BY id LIMIT $1', values: [51] };

describe('SharedReads', () => {
  it('gives a read asked while the same one runs that read’s rows, and starts one query', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const first = reads.read(page, run);
    const second = reads.read({ ...page, values: [51] }, run);
    expect(started).toHaveLength(1);
    started[0]!.resolve(['a', 'b']);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual(['a', 'b']);
    expect(b).toBe(a);
  });

  it('resumes each caller that joined in a turn of its own, after the one before has finished its work', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const log: string[] = [];
    // Each caller goes on through a few promise steps, as a request does after its rows.
    const caller = (name: string) =>
      reads.read(page, run).then(async () => {
        log.push(`${name} resumed`);
        await Promise.resolve();
        await Promise.resolve();
        log.push(`${name} done`);
      });
    const all = Promise.all([caller('first'), caller('second'), caller('third')]);
    expect(started).toHaveLength(1);
    started[0]!.resolve([]);
    await all;
    expect(log).toEqual([
      'first resumed',
      'first done',
      'second resumed',
      'second done',
      'third resumed',
      'third done',
    ]);
  });

  it('runs a read of other parameters or another statement on its own', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const p1 = reads.read(page, run);
    const p2 = reads.read({ ...page, values: [21] }, run);
    const p3 = reads.read({ text: `${page.text} -- other`, values: [51] }, run);
    expect(started).toHaveLength(3);
    started.forEach((s, i) => s.resolve([String(i)]));
    expect(await Promise.all([p1, p2, p3])).toEqual([['0'], ['1'], ['2']]);
  });

  it('starts a new query once the earlier one has settled', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const first = reads.read(page, run);
    started[0]!.resolve(['old']);
    await first;
    const second = reads.read(page, run);
    expect(started).toHaveLength(2);
    started[1]!.resolve(['new']);
    expect(await second).toEqual(['new']);
  });

  it('after invalidate() starts a new query while the old one still runs, and keeps the new one shared', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const before = reads.read(page, run);
    reads.invalidate();
    const after = reads.read(page, run);
    expect(started).toHaveLength(2);
    // The old read settling must not drop the newer read from the map.
    started[0]!.resolve(['before write']);
    expect(await before).toEqual(['before write']);
    const joined = reads.read(page, run);
    expect(started).toHaveLength(2);
    started[1]!.resolve(['after write']);
    expect(await after).toEqual(['after write']);
    expect(await joined).toEqual(['after write']);
  });

  it('hands a failure to every caller that joined, and the next read starts afresh', async () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const first = reads.read(page, run);
    const second = reads.read(page, run);
    started[0]!.reject(new Error('statement timeout'));
    await expect(first).rejects.toThrow('statement timeout');
    await expect(second).rejects.toThrow('statement timeout');
    const third = reads.read(page, run);
    expect(started).toHaveLength(2);
    started[1]!.resolve(['ok']);
    expect(await third).toEqual(['ok']);
  });

  it('tells parameters apart by value: dates to the millisecond, arrays by their items', () => {
    const reads = new SharedReads();
    const { run, started } = controlledRead();
    const at = (ms: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, 0, ms));
    void reads.read({ text: page.text, values: [at(1), ['DE']] }, run);
    void reads.read({ text: page.text, values: [at(1), ['DE']] }, run);
    void reads.read({ text: page.text, values: [at(2), ['DE']] }, run);
    void reads.read({ text: page.text, values: [at(1), ['DE', 'FR']] }, run);
    expect(started).toHaveLength(3);
    started.forEach((s) => s.resolve([]));
  });
});

describe('FormattedDate', () => {
  const instants = [
    Date.UTC(2026, 11, 4, 16, 45, 12, 345),
    Date.UTC(1970, 0, 1, 0, 0, 0, 0),
    Date.UTC(2000, 1, 29, 23, 59, 59, 999),
    -62135596800000, // 0001-01-01T00:00:00.000Z
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  ];

  it('formats as Date does, the same text each time, and is a Date to everything else', () => {
    const texts = [
      '2026-12-04T16:45:12.345Z',
      '1970-01-01T00:00:00.000Z',
      '2000-02-29T23:59:59.999Z',
      '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    instants.forEach((ms, i) => {
      const d = new FormattedDate(ms);
      expect(d.toISOString()).toBe(texts[i]);
      expect(d.toISOString()).toBe(texts[i]);
      expect(d).toBeInstanceOf(Date);
      expect(d).toEqual(new Date(ms));
      expect(JSON.stringify({ d })).toBe(`{"d":"${texts[i]}"}`);
      expect(Object.keys(d)).toEqual([]);
    });
  });

  it('formats again after the time was changed', () => {
    const d = new FormattedDate(Date.UTC(2026, 0, 1));
    expect(d.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    d.setTime(Date.UTC(2026, 5, 15, 8, 30));
    expect(d.toISOString()).toBe('2026-06-15T08:30:00.000Z');
    d.setUTCFullYear(2030);
    expect(d.toISOString()).toBe('2030-06-15T08:30:00.000Z');
  });

  it('throws for an invalid time as Date does, also after a valid one', () => {
    expect(() => new FormattedDate(Number.NaN).toISOString()).toThrow(RangeError);
    const d = new FormattedDate(0);
    expect(d.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    d.setTime(Number.NaN);
    expect(() => d.toISOString()).toThrow(RangeError);
  });
});
