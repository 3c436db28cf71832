// Mutation testing of the core modules (docs/testing.md). Run by hand:
//   npm run test:mutation                      every module below
//   TW_MUTATE=rate-limiter npm run test:mutation   one module
// Each module names the few test files that are meant to catch its bugs, so a run takes
// minutes on two cores; vitest only loads those (TW_TEST_INCLUDE, read by vitest.config.ts).
// The Redis-backed tests need REDIS_URL, like `npm test` under CI.

/** @type {Record<string, { mutate: string; tests: string[] }>} */
const MODULES = {
  scoring: {
    mutate: 'src/iocs/scoring.ts',
    tests: [
      'test/iocs/scoring.test.ts',
      'test/iocs/scoring-breakdown.test.ts',
      'test/iocs/scoring-lookalike.test.ts',
      'test/iocs/scoring-curation.test.ts',
      'test/iocs/ioc-summary.test.ts',
    ],
  },
  'ioc-summary': {
    mutate: 'src/iocs/ioc-summary.ts',
    tests: [
      'test/iocs/ioc-summary-rules.test.ts',
      'test/iocs/ioc-summary.test.ts',
      'test/iocs/scoring.test.ts',
    ],
  },
  'rate-limiter': {
    mutate: 'src/platform/rate-limiter.ts',
    tests: ['test/platform/rate-limiter.test.ts'],
  },
  'decision-stream-parser': {
    mutate: 'src/crowdsec/decision-stream-parser.ts',
    tests: ['test/crowdsec/decision-stream-parser.test.ts'],
  },
  'worker-runner': {
    mutate: 'src/platform/worker-runner.ts',
    tests: ['test/platform/worker-runner.test.ts'],
  },
  'write-coalescer': {
    mutate: 'src/platform/write-coalescer.ts',
    tests: ['test/platform/write-coalescer.test.ts'],
  },
  'threat-validation': {
    mutate: 'src/threats/threat-validation.ts',
    tests: ['test/threats/threat-validation.test.ts'],
  },
  'threat-filters': {
    mutate: 'src/threats/threat-filters.ts',
    tests: ['test/threats/threat-filters.test.ts'],
  },
  'api-keys': {
    mutate: 'src/auth/{api-key-service,key-cache}.ts',
    tests: [
      'test/auth/api-key-rules.test.ts',
      'test/auth/api-key-service.test.ts',
      'test/auth/key-verification.test.ts',
      'test/auth/write-confirmation.test.ts',
    ],
  },
  'rollup-window': {
    mutate: 'src/platform/rollup-window.ts',
    tests: [
      'test/platform/rollup-window.test.ts',
      'test/stats/stats-window-bounds.test.ts',
      'test/stats/threat-narrow-stats-api.test.ts',
    ],
  },
  'ws-resume': {
    mutate: 'src/server/ws-resume.ts',
    tests: ['test/server/ws-resume.test.ts', 'test/server/ws-fanout-resume.test.ts'],
  },
  'storable-text': {
    mutate: 'src/platform/storable-text.ts',
    tests: ['test/platform/storable-text.test.ts'],
  },
  'argument-checks': {
    mutate: 'src/platform/argument-checks.ts',
    tests: ['test/platform/argument-checks.test.ts'],
  },
  'failure-classifier': {
    mutate: 'src/platform/failure-classifier.ts',
    tests: ['test/platform/failure-classifier.test.ts'],
  },
};

const chosen = process.env.TW_MUTATE ? process.env.TW_MUTATE.split(',') : Object.keys(MODULES);
for (const name of chosen) {
  if (!MODULES[name])
    throw new Error(`TW_MUTATE: unknown module ${name} (${Object.keys(MODULES).join(', ')})`);
}
const modules = chosen.map((name) => MODULES[name]);
process.env.TW_TEST_INCLUDE = [...new Set(modules.flatMap((m) => m.tests))].join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.config.ts', related: false },
  mutate: modules.map((m) => m.mutate),
  coverageAnalysis: 'perTest',
  // Two cores shared with other work: TW_CONCURRENCY=1 when the machine is busy.
  concurrency: Number(process.env.TW_CONCURRENCY ?? 2),
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'coverage/mutation/index.html' },
  jsonReporter: { fileName: 'coverage/mutation/report.json' },
  tempDirName: 'coverage/.stryker-tmp',
  thresholds: { high: 90, low: 80, break: null },
};
