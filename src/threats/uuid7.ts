import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Event ids are made
 * here rather than by the database so that a bulk insert knows every row's id up
 * front, and time-ordered so that the primary-key index grows at its right edge like
 * the occurred_at index instead of splitting pages at random.
 */
const POOL_SIZE = 16 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuid7(now: number = Date.now()): string {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool;
  const o = offset;
  offset += 10;
  const hi = Math.floor(now / 0x10000); // upper 32 bits of the 48-bit timestamp
  const lo = now % 0x10000;
  const h = (n: number) => HEX[n & 0xff] ?? '00';
  return (
    h(hi >>> 24) +
    h(hi >>> 16) +
    h(hi >>> 8) +
    h(hi) +
    '-' +
    h(lo >>> 8) +
    h(lo) +
    '-' +
    h(0x70 | ((b[o] ?? 0) & 0x0f)) +
    h(b[o + 1] ?? 0) +
    '-' +
    h(0x80 | ((b[o + 2] ?? 0) & 0x3f)) +
    h(b[o + 3] ?? 0) +
    '-' +
    h(b[o + 4] ?? 0) +
    h(b[o + 5] ?? 0) +
    h(b[o + 6] ?? 0) +
    h(b[o + 7] ?? 0) +
    h(b[o + 8] ?? 0) +
    h(b[o + 9] ?? 0)
  );
}
