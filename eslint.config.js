import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const DOMAINS = ['auth', 'crowdsec', 'iocs', 'threats', 'geo', 'stats', 'webhooks', 'feeds'];

/** A `no-restricted-imports` rule for `files`: no import of the named folders (or app.ts). */
function layer(files, forbidden, why, extra = []) {
  return [
    {
      files,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: [...forbidden.map((f) => `**/${f}/**`), '**/app.js', ...extra],
                message: `Imports point one way: ${why} (docs/architecture.md).`,
              },
            ],
          },
        ],
      },
    },
  ];
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'web/dist/**',
      'src/platform/prisma-client/**',
      'src/graphql/generated.ts',
      'web/src/console/gql/**',
      '.data/**',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  // Imports point one way (docs/architecture.md, "Layers"): server → graphql → domain
  // modules → platform. A file importing upward fails lint.
  ...layer(['src/platform/**/*.ts'], [...DOMAINS, 'graphql', 'server'], 'platform is the bottom layer'),
  ...DOMAINS.map((domain) =>
    layer(
      [`src/${domain}/**/*.ts`],
      [...DOMAINS.filter((d) => d !== domain && d !== 'geo' && d !== 'stats'), 'graphql', 'server'],
      'domain modules use platform, geo and the statistics interfaces only',
      domain === 'stats' || domain === 'geo' ? [] : ['**/stats/**', '!**/stats/stats-types.js'],
    ),
  ).flat(),
  ...layer(['src/graphql/**/*.ts'], ['server'], 'resolvers hold no I/O and never reach the transport', [
    '**/prisma-client/**',
    'got',
    'ioredis',
    'pg',
    '@prisma/client',
  ]),
  ...layer(
    ['src/geo/**/*.ts', 'src/stats/**/*.ts'],
    [...DOMAINS.filter((d) => d !== 'geo'), 'graphql', 'server'],
    'geo and stats are shared by the domains and import none of them',
  ),
  {
    files: ['**/*.js', '**/*.mjs', 'web/**/*.ts', 'web/**/*.tsx'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
);
