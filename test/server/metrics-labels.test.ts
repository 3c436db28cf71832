import { expect, it } from 'vitest';
import { Metrics } from '../../src/server/metrics.js';

it('keeps at most 200 operation names as series and counts the rest as `other`', async () => {
  const metrics = new Metrics();
  const labels = (operation: string) => ({ operation, type: 'query', outcome: 'success', transport: 'http' });
  for (let i = 0; i < 205; i++) metrics.observeOperation(labels(`Op${i}`), 0.002);
  metrics.observeOperation(labels('Op0'), 0.002); // a known name stays itself
  metrics.observeOperation(labels('Op204'), 0.002); // a refused one stays refused
  metrics.observeOperation({ ...labels('Op1'), outcome: 'error' }); // count only
  const text = await metrics.registry.getSingleMetricAsString('threatwire_graphql_requests_total');
  const series = text.split('\n').filter((l) => l.startsWith('threatwire_graphql_requests_total{'));
  expect(series).toHaveLength(202);
  expect(series).toContain(
    'threatwire_graphql_requests_total{operation="Op0",type="query",outcome="success",transport="http"} 2',
  );
  expect(series).toContain(
    'threatwire_graphql_requests_total{operation="other",type="query",outcome="success",transport="http"} 6',
  );
  expect(series).toContain(
    'threatwire_graphql_requests_total{operation="Op1",type="query",outcome="error",transport="http"} 1',
  );
  const durations = await metrics.registry.getSingleMetricAsString(
    'threatwire_graphql_request_duration_seconds',
  );
  expect(durations).toContain(
    'threatwire_graphql_request_duration_seconds_count{operation="other",type="query",outcome="success",transport="http"} 6',
  );
  expect(durations).not.toContain('outcome="error"');
});

it('exposes each series as a cumulative histogram: buckets, +Inf, sum and count', async () => {
  const metrics = new Metrics();
  const labels = { operation: 'Probe', type: 'query', outcome: 'success', transport: 'http' };
  const series = metrics.series(labels);
  expect(metrics.series(labels)).toBe(series); // one series per label set
  series.record(0.007); // in the 0.01 bucket
  series.record(0.01); // a bound belongs to its own bucket
  series.record(20); // above every bound: +Inf only
  metrics.observeOperation(labels); // counted, no duration
  const text = await metrics.registry.getSingleMetricAsString('threatwire_graphql_request_duration_seconds');
  const value = (suffix: string, le?: string) => {
    const l = `operation="Probe",type="query",outcome="success",transport="http"${le ? `,le="${le}"` : ''}`;
    const line = text
      .split('\n')
      .find((x) => x.startsWith(`threatwire_graphql_request_duration_seconds${suffix}{${l}} `));
    return line?.split(' ')[1];
  };
  expect(value('_bucket', '0.005')).toBe('0');
  expect(value('_bucket', '0.01')).toBe('2');
  expect(value('_bucket', '0.025')).toBe('2');
  expect(value('_bucket', '10')).toBe('2');
  expect(value('_bucket', '+Inf')).toBe('3');
  expect(value('_sum')).toBe('20.017');
  expect(value('_count')).toBe('3');
  const counts = await metrics.registry.getSingleMetricAsString('threatwire_graphql_requests_total');
  expect(counts).toContain(
    'threatwire_graphql_requests_total{operation="Probe",type="query",outcome="success",transport="http"} 4',
  );
});
