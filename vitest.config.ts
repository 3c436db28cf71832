import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Under CI, files run in a random order (each has a database of its own) so that a file
// leaning on another's data fails where it is written. Vitest prints the seed ("Running
// tests with seed"); VITEST_SEED=<seed> replays that order. VITEST_SHUFFLE_TESTS=1 also
// shuffles the tests inside each file: not yet on in CI, because crowdsec-api and ioc-api
// still lean on their earlier cases' data (docs/testing.md).
const shuffle = process.env.CI === 'true' || process.env.VITEST_SEED !== undefined;
const shuffleTests = process.env.VITEST_SHUFFLE_TESTS === '1';
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
