import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger.js';
import { OperationLog, OTHER_OPERATIONS } from '../../src/server/operation-log.js';

function setup(level = 'info', slowMs = 1_000) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { log: { level, pretty: false } },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const log = new OperationLog(logger, { slowMs, intervalMs: 60_000 });
  const record = (operation: string, durationMs: number, errorCodes?: string[]) =>
    log.record({ operation, type: 'query', durationMs, errorCodes, log: () => logger });
  return { lines, log, record };
}

describe('OperationLog', () => {
  it('summarises durations 1..100 ms as p50 50, p95 95, max 100 (nearest rank) and writes no line per operation at info', () => {
    const { lines, log, record } = setup();
    // Out of order, so the quantiles come from sorting, not from arrival.
    for (let i = 0; i < 100; i++) record('Probe', ((i * 37) % 100) + 1);
    expect(lines).toEqual([]);
    expect(log.flush()).toEqual([
      { operation: 'Probe', count: 100, errors: 0, p50Ms: 50, p95Ms: 95, maxMs: 100 },
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'graphql operations', component: 'http' });
    expect(lines[0]!.operations).toEqual([
      { operation: 'Probe', count: 100, errors: 0, p50Ms: 50, p95Ms: 95, maxMs: 100 },
    ]);
  });

  it('starts each interval afresh and writes nothing for an interval without operations', () => {
    const { lines, log, record } = setup();
    record('A', 3);
    record('A', 5, ['BAD_USER_INPUT']);
    record('B', 7);
    expect(log.flush().map((o) => [o.operation, o.count, o.errors])).toEqual([
      ['A', 2, 1],
      ['B', 1, 0],
    ]);
    expect(log.flush()).toEqual([]);
    expect(lines.filter((l) => l.msg === 'graphql operations')).toHaveLength(1);
  });

  it('logs a failed operation at info and a slow one at warn, whatever the summary', () => {
    const { lines, record } = setup('info', 250);
    record('Fine', 249);
    record('Failed', 3, ['BAD_USER_INPUT', 'NOT_FOUND']);
    record('Slow', 250);
    expect(lines.map((l) => [l.level, l.msg, l.operation, l.outcome, l.errorCodes])).toEqual([
      [30, 'graphql operation', 'Failed', 'error', ['BAD_USER_INPUT', 'NOT_FOUND']],
      [40, 'slow graphql operation', 'Slow', 'success', undefined],
    ]);
  });

  it('logs every operation at debug', () => {
    const { lines, record } = setup('debug');
    record('One', 1);
    record('Two', 2);
    expect(lines.map((l) => [l.level, l.operation, l.durationMs])).toEqual([
      [20, 'One', 1],
      [20, 'Two', 2],
    ]);
  });

  it('summarises the first 100 names one by one and the rest together', () => {
    const { log, record } = setup();
    for (let i = 0; i < 103; i++) record(`Op${i}`, 1);
    record('Op0', 1);
    const summary = log.flush();
    expect(summary).toHaveLength(101);
    expect(summary.find((o) => o.operation === OTHER_OPERATIONS)?.count).toBe(3);
    expect(summary.find((o) => o.operation === 'Op0')?.count).toBe(2);
  });

  it('counts exactly beyond the kept sample: 5,000 operations, 10 errors, max 900 ms', () => {
    const { log, record } = setup();
    for (let i = 0; i < 5_000; i++) record('Busy', i === 4_321 ? 900 : 2, i % 500 === 0 ? ['X'] : undefined);
    const [busy] = log.flush();
    expect(busy).toMatchObject({ operation: 'Busy', count: 5_000, errors: 10, maxMs: 900, p50Ms: 2 });
  });
});
