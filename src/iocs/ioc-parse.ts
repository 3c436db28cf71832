/**
 * parseIoc: detect the IOC type of an analyst's input and normalise it, or throw
 * BAD_USER_INPUT naming what was wrong. Cheap checks (length, control characters) run
 * first so hostile input costs O(n) on at most MAX_INPUT_LENGTH characters.
 */
import { unstorableText } from '../platform/storable-text.js';
import { AppError, badInput } from '../platform/errors.js';
import type { InputNotes, IocType, ParsedIoc, SubmittedIoc } from './ioc-types.js';
import { parseDomain, unicodeHost } from './parse-domain.js';
import { looksLikeIpv4, looksLikeIpv6, parseIpv4, parseIpv6 } from './parse-ip.js';
import { looksLikeUrl, parseUrl, urlFacts } from './parse-url.js';
import { refang } from './refang.js';

export type { IocType, ParsedIoc, SubmittedIoc } from './ioc-types.js';

/** Longest URL that browsers and vendors handle reliably; nothing legitimate is longer. */
export const MAX_INPUT_LENGTH = 2048;
const HASH_LENGTHS: ReadonlyArray<[number, IocType]> = [
  [32, 'MD5'],
  [40, 'SHA1'],
  [64, 'SHA256'],
  [128, 'SHA512'],
];
/** Hex strings at least this long are taken as attempted hashes, for a clearer message. */
const MIN_HASH_LIKE = 16;
const HEX = /^[0-9a-f]+$/i;
const CIDR = /^[0-9a-f:.]+\/\d+$/i;
/** host:port (a bracketed IPv6 host, or one without colons), then nothing or a path. */
const HOST_PORT = /^(\[[^\]]*\]|[^\s/?#@[\]:]+):(\d+)([/?#].*)?$/s;
const BRACKETED_IPV6 = /^\[([0-9a-f:.]+)\]$/i;
const EMAIL = /^[^\s@/:]+@([^\s@/:]+)$/;
/** The password part of `scheme://user:password@` (or without a scheme). */
const USERINFO_PASSWORD = /^((?:[a-z][a-z0-9+.-]*:)?(?:\/\/)?[^\s/?#:@]*:)[^\s/?#@]+(?=@)/i;
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

/** Parses an analyst's input (defanged or not) into the IOC it names. */
export function parseIoc(value: string): ParsedIoc {
  return parseIocInput(value).ioc;
}

/** Like parseIoc, and says how the submitted text became the IOC (refanged, credentials removed, …). */
export function parseIocInput(value: string): SubmittedIoc {
  if (typeof value !== 'string') throw badInput('IOC value must be a string');
  if (value.length > MAX_INPUT_LENGTH) {
    throw badInput(`IOC value is ${value.length} characters long; the maximum is ${MAX_INPUT_LENGTH}`);
  }
  // NUL, and unpaired surrogates that would be stored as U+FFFD: a different value.
  const unstorable = unstorableText(value);
  if (unstorable) throw badInput(`IOC value ${unstorable}`);
  // Surrounding whitespace (a pasted newline) is harmless; any left inside is not.
  const trimmed = value.trim();
  if (inRanges(trimmed, CONTROL_RANGES)) throw badInput('IOC value contains a control character');
  if (inRanges(trimmed, INVISIBLE_RANGES))
    throw badInput('IOC value contains an invisible or bidirectional formatting character');
  if (trimmed === '') throw badInput('IOC value is empty');
  const { text, changes } = refang(trimmed);
  const notes: InputNotes = { notes: changes.map((c) => `refanged ${c}`), credentialsRemoved: false };
  let ioc: ParsedIoc;
  try {
    if (/\s/u.test(text) && !looksLikeUrl(text)) throw badInput(`"${text}" contains whitespace`);
    ioc = detectAndParse(text, notes);
  } catch (error) {
    throw withoutPassword(error, text);
  }
  return {
    ioc,
    input: notes.credentialsRemoved ? maskPassword(text) : trimmed,
    refanged: changes.length > 0,
    credentialsRemoved: notes.credentialsRemoved,
    normalizations: notes.notes,
  };
}

/** Unicode form and look-alike target of a stored value (they follow from the value alone). */
export function valueFacts(type: IocType, value: string): Pick<ParsedIoc, 'unicodeValue' | 'lookalikeOf'> {
  if (type === 'DOMAIN') return unicodeHost(value);
  if (type === 'URL') return urlFacts(value);
  return {};
}

/** Error messages quote the input: never with the password of a URL in it. */
function withoutPassword(error: unknown, text: string): unknown {
  const match = USERINFO_PASSWORD.exec(text);
  if (!(error instanceof AppError) || match?.[1] === undefined) return error;
  const password = match[0].slice(match[1].length);
  return new AppError(error.code, error.message.split(password).join('***'), error.details);
}

/** The submitted text with a URL password (`user:secret@`) shown as `***`, for echoing back. */
export function maskPassword(text: string): string {
  return text.replace(USERINFO_PASSWORD, '$1***');
}

function detectAndParse(input: string, notes: InputNotes): ParsedIoc {
  if (HEX.test(input) && !/^\d+$/.test(input)) return parseHash(input);
  if (HEX.test(input) && input.length >= MIN_HASH_LIKE) return parseHash(input);
  if (CIDR.test(input)) throw badInput(`"${input}" is a CIDR range; submit a single address`);
  const hostPort = HOST_PORT.exec(input);
  if (hostPort?.[1] !== undefined && hostPort[2] !== undefined) {
    const [, host, port, rest] = hostPort;
    if (rest !== undefined && rest !== '') return parseSchemeless(input, notes);
    if (port.length > 5 || Number(port) > 65535) throw badInput(`"${input}" has an invalid port`);
    notes.notes.push(`port ${port} dropped: sources score the host, not one port`);
    return detectAndParse(host, notes);
  }
  const bracketed = BRACKETED_IPV6.exec(input)?.[1];
  if (bracketed !== undefined) {
    notes.notes.push('brackets removed from the IPv6 address');
    return parseIpv6(bracketed);
  }
  if (looksLikeIpv4(input)) return parseIpv4(input);
  if (looksLikeIpv6(input)) return parseIpv6(input);
  if (looksLikeUrl(input)) return parseUrl(input, notes);
  if (/[/?#]/.test(input)) return parseSchemeless(input, notes);
  const email = EMAIL.exec(input)?.[1];
  if (email !== undefined) {
    const domain = parseDomain(email);
    notes.notes.push(
      `e-mail address: its domain ${domain.value} is looked up (mailboxes are not an IOC type)`,
    );
    return domain;
  }
  return parseDomain(input);
}

/** `evil.com/gate.php`: a URL without a scheme, read as http:// the way VirusTotal reads it. */
function parseSchemeless(input: string, notes: InputNotes): ParsedIoc {
  notes.notes.push('no scheme given: http:// assumed');
  return parseUrl(`http:${input.startsWith('//') ? '' : '//'}${input}`, notes);
}

function parseHash(input: string): ParsedIoc {
  const match = HASH_LENGTHS.find(([length]) => length === input.length);
  if (match === undefined) {
    if (input.length < MIN_HASH_LIKE) return parseDomain(input);
    throw badInput(
      `"${input}" has ${input.length} hex characters; an MD5 has 32, a SHA-1 40, a SHA-256 64 and a SHA-512 128`,
    );
  }
  return { type: match[1], value: input.toLowerCase(), routable: true };
}
