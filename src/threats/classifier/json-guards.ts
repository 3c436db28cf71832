/**
 * Small checks for model JSON read back from storage: a corrupt or foreign document must
 * fail on load with a clear message, never mispredict or loop on the ingest path.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new RangeError(`${what} is not an object`);
  return value;
}

export function num(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new RangeError(`${what} is not a finite number`);
  return value;
}

export function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new RangeError(`${what} is not a string`);
  return value;
}

export function numbers(value: unknown, what: string): number[] {
  if (
    !Array.isArray(value) ||
    !value.every((v): v is number => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new RangeError(`${what} is not an array of finite numbers`);
  }
  return value;
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new RangeError(`${what} is not an array`);
  return value;
}
