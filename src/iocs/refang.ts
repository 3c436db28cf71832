/**
 * Refanging: undoes the ways reports and tickets "defang" indicators so nobody clicks
 * them — `hxxp://`, `[.]`, `(.)`, `{.}`, `[dot]`, `[@]`, `[:]`, `[://]`, and ` dot `
 * between words when nothing else is in the text. Runs before type detection; every
 * replacement is reported so the analyst sees exactly what was changed.
 */

export interface Refanged {
  text: string;
  /** One entry per kind of replacement, e.g. `"[.]" → "." (×3)`; empty when nothing was defanged. */
  changes: string[];
}

/** A defanged scheme at the start: hxxp, hXXp, hxtp, h**p, h[tt]p, fxp (ftp), each with an optional s. */
const DEFANGED_SCHEME = /^(hxxp|hxtp|htxp|h\*\*p|h\[tt\]p|fxp)(s?)(?=\[?\(?:)/i;
/** A bracketed separator: [.] (.) {.} [dot] [ . ] [@] (at) [:] [://] [/]. */
const BRACKETED = /\s*[[({]\s*(\.|dot|@|at|:\/\/|:|\/)\s*[\])}]\s*/gi;
const SEPARATORS: Readonly<Record<string, string>> = {
  '.': '.',
  dot: '.',
  '@': '@',
  at: '@',
  '://': '://',
  ':': ':',
  '/': '/',
};
/** Only words joined by " dot ": "evil dot com", "www dot evil dot co dot uk". */
const SPOKEN_DOTS = /^[a-z0-9-]+(?:\s+dot\s+[a-z0-9-]+)+$/i;

export function refang(input: string): Refanged {
  const counts = new Map<string, number>();
  const note = (from: string, to: string): void => {
    const key = `"${from}" → "${to}"`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  let text = input.replace(DEFANGED_SCHEME, (match: string, _scheme: string, s: string) => {
    const fanged = `${match.toLowerCase().startsWith('f') ? 'ftp' : 'http'}${s.toLowerCase()}`;
    note(match, fanged);
    return fanged;
  });
  text = text.replace(BRACKETED, (match: string, inner: string) => {
    const fanged = SEPARATORS[inner.toLowerCase()] ?? inner;
    note(match.trim(), fanged);
    return fanged;
  });
  if (SPOKEN_DOTS.test(text)) {
    const words = text.split(/\s+dot\s+/i);
    // "dot dot com" could be dot.com or a typo: only refang when no word is "dot" itself.
    if (!words.some((w) => w.toLowerCase() === 'dot')) {
      for (let i = 1; i < words.length; i++) note(' dot ', '.');
      text = words.join('.');
    }
  }
  const changes = [...counts].map(([key, n]) => (n > 1 ? `${key} (×${n})` : key));
  return { text, changes };
}
