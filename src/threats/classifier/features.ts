import { fnv1a } from './random.js';
import type { ClassifierInput } from './types.js';

/**
 * Turns an event into numbers for the two models.
 *
 * Layout of a full vector (FEATURE_COUNT numbers):
 *   [0, NUMERIC_FEATURE_COUNT)  numeric features, named in NUMERIC_FEATURES; the isolation
 *                               forest uses only these.
 *   [NUMERIC_FEATURE_COUNT, …)  TEXT_BUCKETS hashed bag-of-words presence flags (0/1) of
 *                               the words in threatType, description and tags; the random
 *                               forest uses the whole vector.
 *
 * Continuous inputs are coarsened (confidence to steps of 0.05, description length to its
 * bit length): `ml-cart` evaluates a candidate split per distinct value, so training time
 * grows with the number of distinct values, and neither model needs the fine grain.
 *
 * Unknown values are -1 rather than NaN: both forests split on `<`, and a distinct
 * out-of-range value keeps "missing" separable instead of poisoning comparisons.
 *
 * Text encoding: a word is a maximal run of ASCII letters/digits (or any non-ASCII
 * character), lower-cased; words shorter than 2 characters or made only of digits are
 * skipped (IPs, ports and CVE numbers would only add noise). Each word sets bucket
 * fnv1a(word) mod TEXT_BUCKETS. Hashing keeps the vector fixed-size with no vocabulary to
 * store or keep in sync; collisions are tolerable because trees combine many buckets.
 *
 * Any change here changes what a stored model means: bump FEATURE_SPEC so that models
 * trained on the old layout are refused on load instead of mispredicting.
 */
export const NUMERIC_FEATURES = [
  'destinationPort',
  'sourcePortClass', // -1 none, 0 well-known <1024, 1 registered <49152, 2 ephemeral
  'severity',
  'confidence',
  'protocolTcp',
  'protocolUdp',
  'protocolIcmp',
  'protocolOther',
  'hourOfDayUtc',
  'sourceIsPrivate',
  'tagCount',
  'descriptionLengthBits', // bit length of the length: 0, 1, 2–3 → 2, 4–7 → 3, …
] as const;

export const NUMERIC_FEATURE_COUNT = NUMERIC_FEATURES.length;
export const TEXT_BUCKETS = 64;
export const FEATURE_COUNT = NUMERIC_FEATURE_COUNT + TEXT_BUCKETS;
export const FEATURE_SPEC = `v2:n${NUMERIC_FEATURE_COUNT}:h${TEXT_BUCKETS}`;

const MAX_TAGS = 20;

/** Application protocols folded into their transport, so `http` and `tcp` look alike. */
const PROTOCOL_FAMILY: ReadonlyMap<string, 4 | 5 | 6> = new Map([
  ...[
    'tcp',
    'http',
    'https',
    'ssh',
    'ftp',
    'telnet',
    'smtp',
    'smb',
    'rdp',
    'imap',
    'pop3',
    'tls',
    'mysql',
  ].map((p) => [p, 4] as const),
  ...['udp', 'dns', 'ntp', 'snmp', 'ssdp', 'memcached', 'quic', 'sip', 'ldap-udp', 'tftp'].map(
    (p) => [p, 5] as const,
  ),
  ...['icmp', 'icmpv6', 'icmp6'].map((p) => [p, 6] as const),
]);

/** Writes the numeric features into out[0, NUMERIC_FEATURE_COUNT). */
export function encodeNumeric(event: ClassifierInput, out: Float64Array): void {
  out[0] = event.destinationPort ?? -1;
  out[1] = portClass(event.sourcePort);
  out[2] = event.severity;
  out[3] = Math.round(event.confidence * 20) / 20;
  out[4] = 0;
  out[5] = 0;
  out[6] = 0;
  out[7] = 0;
  if (event.protocol !== null && event.protocol.length > 0) {
    const family = PROTOCOL_FAMILY.get(event.protocol) ?? PROTOCOL_FAMILY.get(event.protocol.toLowerCase());
    out[family ?? 7] = 1;
  }
  out[8] = event.occurredAt === undefined ? -1 : event.occurredAt.getUTCHours();
  out[9] = event.sourceIsPrivate === undefined ? -1 : event.sourceIsPrivate ? 1 : 0;
  out[10] = Math.min(event.tags.length, MAX_TAGS);
  out[11] = 32 - Math.clz32(event.description?.length ?? 0);
}

/** Writes the hashed bag-of-words into out[offset, offset + TEXT_BUCKETS). */
export function encodeText(event: ClassifierInput, out: Float64Array, offset = NUMERIC_FEATURE_COUNT): void {
  out.fill(0, offset, offset + TEXT_BUCKETS);
  hashWords(event.threatType, out, offset);
  if (event.description !== null) hashWords(event.description, out, offset);
  for (const tag of event.tags) hashWords(tag, out, offset);
}

/** A freshly allocated full vector; for training, where allocation does not matter. */
export function featureVector(event: ClassifierInput): number[] {
  const out = new Float64Array(FEATURE_COUNT);
  encodeNumeric(event, out);
  encodeText(event, out);
  return Array.from(out);
}

function portClass(port: number | null): number {
  if (port === null) return -1;
  if (port < 1024) return 0;
  return port < 49152 ? 1 : 2;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Hashes words as they are read, without building substrings: this runs for every event
 * on the ingest path. Equivalent to fnv1a(word.toLowerCase()) for each kept word.
 */
function hashWords(text: string, out: Float64Array, offset: number): void {
  let hash = FNV_OFFSET;
  let length = 0;
  let allDigits = true;
  for (let i = 0; i <= text.length; i++) {
    let code = i < text.length ? text.charCodeAt(i) : 32;
    const isUpper = code >= 65 && code <= 90;
    const isDigit = code >= 48 && code <= 57;
    const isWordChar = isUpper || isDigit || (code >= 97 && code <= 122) || code > 127;
    if (isWordChar) {
      if (isUpper) code += 32;
      hash = Math.imul(hash ^ code, FNV_PRIME);
      length++;
      allDigits &&= isDigit;
      continue;
    }
    if (length >= 2 && !allDigits) out[offset + ((hash >>> 0) % TEXT_BUCKETS)] = 1;
    hash = FNV_OFFSET;
    length = 0;
    allDigits = true;
  }
}

/** The bucket a word lands in; exported for tests and for explaining a model. */
export function wordBucket(word: string): number {
  return fnv1a(word.toLowerCase()) % TEXT_BUCKETS;
}
