/**
 * Look-alike (homoglyph) detection for IDN labels, after the idea of the Unicode TS #39
 * "skeleton": each letter that renders like a Latin one in common fonts is replaced by
 * that Latin letter. A label is a look-alike when it has non-ASCII letters and its
 * skeleton is plain ASCII, and either
 *  1. it mixes scripts or uses Latin-script confusables (gооgle, раураl, ɡoogle), or
 *  2. it is written wholly in one other script (Cyrillic, Greek, Armenian) under a
 *     top-level domain where that script is not expected (аррӏе.com; under .ru or .рф
 *     the same label is an ordinary Russian name).
 * A look-alike is evidence, not invalid input: the domain is accepted, and the name it
 * imitates (`lookalikeOf`) is reported and raises the score (docs/scoring.md). Labels
 * whose letters do not all map to Latin (münchen, пример, 東京) are ordinary IDNs.
 */

/** Lower-case letters that render like a Latin letter (input is already UTS #46-mapped). */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  с: 'c',
  ԁ: 'd',
  е: 'e',
  ҽ: 'e',
  ԍ: 'g',
  һ: 'h',
  і: 'i',
  ј: 'j',
  к: 'k',
  ӏ: 'l',
  п: 'n',
  о: 'o',
  р: 'p',
  ԛ: 'q',
  г: 'r',
  ѕ: 's',
  ѵ: 'v',
  ԝ: 'w',
  ѡ: 'w',
  х: 'x',
  у: 'y',
  ь: 'b',
  // Greek
  α: 'a',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  γ: 'y',
  ω: 'w',
  // Armenian
  օ: 'o',
  ս: 'u',
  ո: 'n',
  հ: 'h',
  ց: 'g',
  զ: 'q',
  // Latin letters outside ASCII that are pure look-alikes (dotless i, script g, …)
  ı: 'i',
  ȷ: 'j',
  ɡ: 'g',
  ɑ: 'a',
  ɩ: 'i',
};
const ASCII_LABEL = /^[a-z0-9_-]+$/;
const ASCII_ONLY = /^\p{ASCII}*$/u;
const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian'].map((name) => ({
  name,
  re: new RegExp(`^\\p{Script=${name}}$`, 'u'),
}));
/** Top-level domains (in Unicode) of the countries and communities that write each script. */
const SCRIPT_TLDS: Readonly<Record<string, ReadonlySet<string>>> = {
  // prettier-ignore
  Cyrillic: new Set([
    'ru', 'su', 'ua', 'by', 'bg', 'kz', 'kg', 'mk', 'mn', 'rs', 'tj', 'uz', 'ba', 'me',
    'рф', 'укр', 'бг', 'срб', 'мкд', 'қаз', 'мон', 'бел', 'рус', 'москва', 'дети', 'онлайн', 'сайт', 'орг', 'ком',
  ]),
  Greek: new Set(['gr', 'cy', 'ελ', 'ευ']),
  Armenian: new Set(['am', 'հայ']),
};

/** The Latin label `label` imitates, or undefined when it is not a look-alike. */
export function lookalikeLabel(label: string, tld: string): string | undefined {
  if (ASCII_ONLY.test(label)) return undefined;
  const chars = [...label];
  const skeleton = chars.map((ch) => CONFUSABLES[ch] ?? ch).join('');
  if (!ASCII_LABEL.test(skeleton)) return undefined;
  // Every letter is ASCII or a listed confusable, so these four scripts are all there can be.
  const scripts = new Set(chars.flatMap((ch) => SCRIPTS.filter((s) => s.re.test(ch)).map((s) => s.name)));
  const [only] = scripts;
  const expected = scripts.size === 1 && only !== undefined && SCRIPT_TLDS[only]?.has(tld) === true;
  return expected ? undefined : skeleton;
}

/**
 * For a host in Unicode form (labels split on "."), the ASCII name it imitates, or
 * undefined. Labels that are not look-alikes keep their ASCII (punycode) form.
 */
export function lookalikeHost(
  unicodeLabels: readonly string[],
  asciiLabels: readonly string[],
): string | undefined {
  const tld = unicodeLabels.at(-1) ?? '';
  let found = false;
  const target = unicodeLabels.map((label, i) => {
    const latin = lookalikeLabel(label, tld);
    if (latin === undefined) return asciiLabels[i] ?? label;
    found = true;
    return latin;
  });
  return found ? target.join('.') : undefined;
}
