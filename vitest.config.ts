import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Under CI, files run in a random order (each has a database of its own), and so do the
// tests inside each file, so that a test leaning on another's data or state fails where
// it is written. Vitest prints the seed ("Running tests with seed"); VITEST_SEED=<seed>
// replays that order. Outside CI, VITEST_SHUFFLE_TESTS=1 shuffles the tests inside files
// too (VITEST_SHUFFLE_TESTS=0 keeps them in order under CI, to bisect a failure).
const ci = process.env.CI === 'true';
const shuffle = ci || process.env.VITEST_SEED !== undefined;
const shuffleTests =
  process.env.VITEST_SHUFFLE_TESTS === '1' || (ci && process.env.VITEST_SHUFFLE_TESTS !== '0');
const seed = Number(process.env.VITEST_SEED ?? Math.floor(Math.random() * 1_000_000));

// A narrowed test set (comma-separated globs), used by mutation testing per module.
const include = process.env.TW_TEST_INCLUDE?.split(',').filter(Boolean) ?? ['test/**/*.test.ts'];

export default defineConfig({
  resolve: {
    // One copy of graphql-js: Vite would pick its ESM build for our sources while
    // dependencies load the CommonJS one, and graphql-js refuses mixed realms.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include,
    sequence: shuffle ? { shuffle: { files: true, tests: shuffleTests }, seed } : {},
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default'],
  },
});
