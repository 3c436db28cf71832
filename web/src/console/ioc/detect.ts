/** A first guess at the indicator type while typing; the server's parser has the last word. */
export function guessType(value: string): string {
  const v = value.trim();
  if (/^(\d{1,3}\.){3}\d{1,3}$/.test(v)) return 'IPv4';
  if (v.includes(':') && /^[0-9a-f:.]+$/i.test(v) && !v.includes('://')) return 'IPv6';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return 'URL';
  if (/^[0-9a-f]{32}$/i.test(v)) return 'MD5';
  if (/^[0-9a-f]{40}$/i.test(v)) return 'SHA-1';
  if (/^[0-9a-f]{64}$/i.test(v)) return 'SHA-256';
  if (/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z][a-z0-9-]{1,62}\.?$/i.test(v)) return 'domain';
  return 'unrecognised';
}

/** Indicators as pasted: one per line, or separated by commas, spaces or semicolons. */
export function splitIndicators(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[\s,;]+/)) {
    const v = part.trim();
    if (v) seen.add(v);
  }
  return [...seen];
}

/** Cards rendered at once; each is one lookupIoc request. */
export const maxIndicators = 50;
