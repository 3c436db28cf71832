// Bundles the threatwire console (served at /) into web/dist/console/, apart from
// GraphiQL so the console's first download stays small. Views are split into chunks
// loaded on navigation; the world map and charts ship only with the views that use them.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);

/**
 * world-atlas identifies countries by ISO 3166-1 numeric code while the API speaks
 * alpha-2: a build-time table from world-countries bridges the two without shipping
 * the whole country database to the browser.
 */
const countryCodes = {
  name: 'country-codes',
  setup(build) {
    build.onResolve({ filter: /^tw:country-codes$/ }, () => ({ path: 'country-codes', namespace: 'tw' }));
    build.onLoad({ filter: /.*/, namespace: 'tw' }, async () => {
      const file = require.resolve('world-countries/countries.json');
      const countries = JSON.parse(await readFile(file, 'utf8'));
      const table = Object.fromEntries(
        countries.filter((c) => c.ccn3).map((c) => [c.ccn3, [c.cca2, c.name.common]]),
      );
      return { contents: `export default ${JSON.stringify(table)};`, loader: 'js' };
    });
  },
};

export function buildConsole(common, srcDir, outdir) {
  return esbuild.build({
    ...common,
    entryPoints: { main: join(srcDir, 'console', 'main.tsx') },
    outdir: join(outdir, 'console'),
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    jsx: 'automatic',
    plugins: [countryCodes],
    metafile: true,
  });
}

export const consolePackages = [
  '@apollo/client',
  'rxjs',
  'world-atlas',
  'world-countries',
  'topojson-client',
  'd3-geo',
  'uplot',
  '@tanstack/react-virtual',
];
