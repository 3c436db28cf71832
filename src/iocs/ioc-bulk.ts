/**
 * The pure half of bulk lookups (`lookupIocs`): every value is parsed on its own, so one
 * bad line is an error entry instead of failing the list; values that normalise to the
 * same IOC (`1[.]2[.]3[.]4` and `1.2.3.4`) are enriched once and answered for each.
 */
import { AppError, type ErrorCode } from '../platform/errors.js';
import { maskPassword, parseIocInput } from './ioc-parse.js';
import type { IocRecord } from './ioc-record.js';
import type { SubmittedIoc } from './ioc-types.js';

/** Longest echo of a value that could not be parsed (it may be up to the body limit long). */
const MAX_ECHO = 256;

export interface IocLookupRecord {
  /** Position of the value in the request. */
  index: number;
  /** The value as submitted, trimmed; a URL password shown as ***. */
  input: string;
  ioc: IocRecord | null;
  error: { code: ErrorCode; message: string } | null;
  /** Index of the first entry with the same normalised value. */
  duplicateOf: number | null;
}

export type PlannedItem =
  | { index: number; submitted: SubmittedIoc; duplicateOf: number | null }
  | { index: number; input: string; error: { code: ErrorCode; message: string } };

export interface BulkPlan {
  items: PlannedItem[];
  /** The first entry of each distinct IOC, in input order: what gets enriched. */
  unique: SubmittedIoc[];
}

const echo = (value: string): string => {
  const text = maskPassword(value.trim());
  return text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
};

export function planBulk(values: readonly string[]): BulkPlan {
  const firstIndex = new Map<string, number>();
  const unique: SubmittedIoc[] = [];
  const items = values.map((value, index): PlannedItem => {
    let submitted: SubmittedIoc;
    try {
      submitted = parseIocInput(value);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return { index, input: echo(value), error: { code: error.code, message: error.message } };
    }
    const first = firstIndex.get(submitted.ioc.value);
    if (first === undefined) {
      firstIndex.set(submitted.ioc.value, index);
      unique.push(submitted);
    }
    return { index, submitted, duplicateOf: first ?? null };
  });
  return { items, unique };
}

/** One answer per planned item, in input order; `records` holds each distinct IOC's answer. */
export function bulkAnswers(plan: BulkPlan, records: ReadonlyMap<string, IocRecord>): IocLookupRecord[] {
  return plan.items.map((item) => {
    if ('error' in item)
      return { index: item.index, input: item.input, ioc: null, error: item.error, duplicateOf: null };
    const { ioc, ...submitted } = item.submitted;
    const record = records.get(ioc.value);
    if (record === undefined) throw new Error(`no answer for ${ioc.value}`);
    return {
      index: item.index,
      input: submitted.input,
      ioc: { ...record, submitted },
      error: null,
      duplicateOf: item.duplicateOf,
    };
  });
}
