/**
 * Which real services the tests may use. Locally a missing Redis skips the cases that
 * need it with a visible message; under CI=true a missing service fails the run.
 */
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

export function redisUrlOrSkip(what: string): string | undefined {
  const url = process.env.REDIS_URL;
  if (url) return url;
  if (isCI) throw new Error(`CI=true but REDIS_URL is not set: "${what}" needs Redis`);
  console.warn(`[skip] ${what}: REDIS_URL is not set, Redis-backed cases are skipped`);
  return undefined;
}
