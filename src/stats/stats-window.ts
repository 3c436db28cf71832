import { badInput } from '../platform/errors.js';
import { bucketMs, DAY_MS, floorTo, MAX_BUCKETS, type BucketSize } from './stats-types.js';

/**
 * The buckets of a series: `until` defaults to now, `since` to one day (hours) or 30
 * days (days) before it, floored to a bucket; at most MAX_BUCKETS buckets.
 */
export function seriesWindow(
  size: BucketSize,
  since: Date | null | undefined,
  until: Date | null | undefined,
  now: number,
): { start: number; end: number } {
  const end = until ? until.getTime() : now;
  if (Number.isNaN(end)) throw badInput('until is not a valid time', { argument: 'until' });
  const defaultSpan = size === 'HOUR' ? DAY_MS : 30 * DAY_MS;
  const start = floorTo(since ? since.getTime() : end - defaultSpan, size);
  if (!(start < end)) throw badInput('since must be before until', { argument: 'since' });
  if ((end - start) / bucketMs(size) > MAX_BUCKETS)
    throw badInput(`at most ${MAX_BUCKETS} buckets per series; narrow the window`, {
      argument: 'since',
      limit: MAX_BUCKETS,
    });
  return { start, end };
}
