/**
 * A reasonable homoglyph screen for IDN labels, after the spirit of Unicode TS #39
 * "highly restrictive" and the checks browsers apply before showing Unicode hostnames:
 *  1. a label may not mix scripts, except the CJK combinations real names use;
 *  2. a label written wholly in Cyrillic or Greek may not consist only of letters that
 *     look like Latin ones (аррӏе.com) — such names exist only to impersonate.
 * It is a screen, not a proof: unusual but legitimate names may be refused, and the
 * message says why so an analyst can submit the punycode form of a different label.
 */
const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Khmer',
  'Ethiopic',
  'Cherokee',
  'Han',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Hangul',
  'Mongolian',
] as const;
const SCRIPT_TESTS = SCRIPTS.map((name) => ({ name, re: new RegExp(`^\\p{Script=${name}}$`, 'u') }));
const COMMON_OR_INHERITED = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** Script sets that real-world names combine (Japanese, Chinese, Korean, each with Latin). */
const ALLOWED_MIXES: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/** Lower-case letters rendered like Latin letters in common fonts. */
const LATIN_LOOKALIKES: Readonly<Record<string, string>> = {
  Cyrillic: 'аbсԁеһіјӏорԛѕԝхуъьѵгптмкв',
  Greek: 'αβεικνορτυχω',
};

function scriptOf(ch: string): string | undefined {
  if (COMMON_OR_INHERITED.test(ch)) return undefined;
  return SCRIPT_TESTS.find((s) => s.re.test(ch))?.name ?? 'Other';
}

/** Returns why the Unicode label looks like a spoof, or undefined when it passes. */
export function homoglyphProblem(label: string, tldIsAscii: boolean): string | undefined {
  const scripts = new Set<string>();
  for (const ch of label) {
    const script = scriptOf(ch);
    if (script !== undefined) scripts.add(script);
  }
  if (scripts.size > 1 && !ALLOWED_MIXES.some((allowed) => [...scripts].every((s) => allowed.has(s)))) {
    return `label "${label}" mixes scripts (${[...scripts].join(' + ')}), a common homoglyph spoof`;
  }
  const [only] = [...scripts];
  const lookalikes = only === undefined ? undefined : LATIN_LOOKALIKES[only];
  if (
    tldIsAscii &&
    lookalikes !== undefined &&
    [...label].every((ch) => lookalikes.includes(ch) || !scriptOf(ch))
  ) {
    return `label "${label}" is written in ${only} letters that all look like Latin ones, a common homoglyph spoof`;
  }
  return undefined;
}
