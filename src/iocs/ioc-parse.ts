/**
 * parseIoc: detect the IOC type of an analyst's input and normalise it, or throw
 * BAD_USER_INPUT naming what was wrong. Cheap checks (length, control characters) run
 * first so hostile input costs O(n) on at most MAX_INPUT_LENGTH characters.
 */
import { unstorableText } from '../platform/storable-text.js';
import { badInput } from '../platform/errors.js';
import type { IocType, ParsedIoc } from './ioc-types.js';
import { parseDomain } from './parse-domain.js';
import { looksLikeIpv4, looksLikeIpv6, parseIpv4, parseIpv6 } from './parse-ip.js';
import { looksLikeUrl, parseUrl } from './parse-url.js';

export type { IocType, ParsedIoc } from './ioc-types.js';

/** Longest URL that browsers and vendors handle reliably; nothing legitimate is longer. */
export const MAX_INPUT_LENGTH = 2048;
const HASH_LENGTHS: ReadonlyArray<[number, IocType]> = [
  [32, 'MD5'],
  [40, 'SHA1'],
  [64, 'SHA256'],
];
/** Hex strings at least this long are taken as attempted hashes, for a clearer message. */
const MIN_HASH_LIKE = 16;
const HEX = /^[0-9a-f]+$/i;
/** C0/C1 controls, then zero-width and bidirectional formatting characters (IDNA drops some silently). */
const CONTROL_RANGES: ReadonlyArray<[number, number]> = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
];
const INVISIBLE_RANGES: ReadonlyArray<[number, number]> = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x206f],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];

const inRanges = (s: string, ranges: ReadonlyArray<[number, number]>): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (ranges.some(([lo, hi]) => c >= lo && c <= hi)) return true;
  }
  return false;
};

export function parseIoc(value: string): ParsedIoc {
  if (typeof value !== 'string') throw badInput('IOC value must be a string');
  if (value.length > MAX_INPUT_LENGTH) {
    throw badInput(`IOC value is ${value.length} characters long; the maximum is ${MAX_INPUT_LENGTH}`);
  }
  // NUL, and unpaired surrogates that would be stored as U+FFFD: a different value.
  const unstorable = unstorableText(value);
  if (unstorable) throw badInput(`IOC value ${unstorable}`);
  // Surrounding whitespace (a pasted newline) is harmless; any left inside is not.
  const input = value.trim();
  if (inRanges(input, CONTROL_RANGES)) throw badInput('IOC value contains a control character');
  if (inRanges(input, INVISIBLE_RANGES))
    throw badInput('IOC value contains an invisible or bidirectional formatting character');
  if (input === '') throw badInput('IOC value is empty');
  if (/\s/u.test(input) && !looksLikeUrl(input)) throw badInput(`"${input}" contains whitespace`);
  return detectAndParse(input);
}

function detectAndParse(input: string): ParsedIoc {
  if (HEX.test(input) && !/^\d+$/.test(input)) return parseHash(input);
  if (HEX.test(input) && input.length >= MIN_HASH_LIKE) return parseHash(input);
  if (looksLikeIpv4(input)) return parseIpv4(input);
  if (looksLikeIpv6(input)) return parseIpv6(input);
  if (looksLikeUrl(input)) return parseUrl(input);
  if (/[/?#]/.test(input)) {
    throw badInput(`"${input}" looks like a URL without a scheme; submit it with http:// or https://`);
  }
  return parseDomain(input);
}

function parseHash(input: string): ParsedIoc {
  const match = HASH_LENGTHS.find(([length]) => length === input.length);
  if (match === undefined) {
    if (input.length < MIN_HASH_LIKE) return parseDomain(input);
    throw badInput(
      `"${input}" has ${input.length} hex characters; an MD5 has 32, a SHA-1 40 and a SHA-256 64`,
    );
  }
  return { type: match[1], value: input.toLowerCase(), routable: true };
}
