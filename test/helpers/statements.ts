import pg from 'pg';

/** Statements the app sends PostgreSQL while `fn` runs (every pool query goes through a Client). */
export async function statementsDuring(fn: () => Promise<void>): Promise<string[]> {
  const texts: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    texts.push(typeof q === 'string' ? q : ((q as { text?: string } | undefined)?.text ?? ''));
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return texts;
}
