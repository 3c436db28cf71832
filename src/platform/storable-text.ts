/**
 * What PostgreSQL can store. `text` and `jsonb` refuse U+0000, and a lone UTF-16
 * surrogate (half of a pair, which JavaScript strings allow) either fails a `json`
 * cast or is silently replaced by U+FFFD when the driver encodes the string as UTF-8,
 * so the stored value would differ from what was sent. Every validator and filter that
 * takes client text checks it here, so one bad value is refused with a clear message
 * (and, in a batch, only that item), never by the database.
 */

/** Why `s` cannot be stored as given, or null when it can. */
export function unstorableText(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'must not contain NUL characters';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return 'must not contain unpaired UTF-16 surrogates';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'must not contain unpaired UTF-16 surrogates';
  }
  return null;
}

export interface JsonBounds {
  /** Deepest nesting of objects and arrays (the top-level value is depth 1). */
  maxDepth: number;
}

/**
 * Why a JSON value cannot be stored as jsonb (text problems in keys or strings, nesting
 * deeper than `maxDepth`, non-finite numbers), or null. Iterative, so a value nested
 * thousands deep cannot overflow the stack here.
 */
export function unstorableJson(value: unknown, bounds: JsonBounds): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorableText(v);
      if (why) return why;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'must not contain non-finite numbers';
    } else if (v !== null && typeof v === 'object') {
      if (depth > bounds.maxDepth) return `must not be nested more than ${bounds.maxDepth} levels deep`;
      const entries = Array.isArray(v) ? v : Object.entries(v as Record<string, unknown>);
      for (const entry of entries) {
        if (Array.isArray(v)) stack.push([entry, depth + 1]);
        else {
          const [k, child] = entry as [string, unknown];
          const why = unstorableText(k);
          if (why) return why;
          stack.push([child, depth + 1]);
        }
      }
    }
  }
  return null;
}
