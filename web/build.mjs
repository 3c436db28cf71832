#!/usr/bin/env node
// Bundles the self-hosted GraphiQL page into web/dist/ (served at /graphiql) and the
// console into web/dist/console/ (served at /; see build-console.mjs).
//
// Everything the page needs (JS, CSS, fonts, Monaco's web workers) is emitted here so
// the page works air-gapped: nothing is fetched from a CDN at run time.
// `npm test` and `npm start` run this every time, so an up-to-date build is skipped
// unless --force is given.
import console from 'node:console';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildConsole, consolePackages } from './build-console.mjs';

const webDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(webDir);
const srcDir = join(webDir, 'src');
const distDir = join(webDir, 'dist');
const stampFile = join(distDir, '.build-stamp.json');
const require = createRequire(import.meta.url);

// Versions of what ends up in the bundle: a dependency upgrade must trigger a rebuild
// even though no file under web/ changed.
const bundledPackages = [
  'graphiql',
  '@graphiql/react',
  '@graphiql/toolkit',
  'graphql',
  'graphql-ws',
  'monaco-editor',
  'monaco-graphql',
  'react',
  'react-dom',
  'esbuild',
  ...consolePackages,
];

// Monaco decides which worker to start by label; monaco-workers.ts maps labels to these names.
const workers = {
  'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
  'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
  'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
};

const staticFiles = ['index.html', 'favicon.svg'];
const consoleStaticFiles = ['console/index.html', 'favicon.svg'];

async function listFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** Identifies the inputs: source contents (not mtimes, which git checkouts reset) and package versions. */
async function inputFingerprint() {
  const hash = createHash('sha256');
  const files = [
    fileURLToPath(import.meta.url),
    join(webDir, 'build-console.mjs'),
    ...(await listFiles(srcDir)),
  ].sort();
  for (const file of files) {
    hash
      .update(relative(webDir, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  for (const name of bundledPackages) {
    const pkg = JSON.parse(await readFile(findPackageJson(name), 'utf8'));
    hash.update(`${name}@${pkg.version}\0`);
  }
  return hash.digest('hex');
}

/** Some packages do not export ./package.json; walk up from their entry point instead. */
function findPackageJson(name) {
  try {
    return require.resolve(`${name}/package.json`, { paths: [rootDir] });
  } catch {
    return join(rootDir, 'node_modules', name, 'package.json');
  }
}

async function isUpToDate(fingerprint) {
  try {
    const stamp = JSON.parse(await readFile(stampFile, 'utf8'));
    await stat(join(distDir, 'index.html'));
    return stamp.fingerprint === fingerprint;
  } catch {
    return false;
  }
}

// graphiql/style.css already contains Monaco's stylesheet (with the codicon font
// inlined); the .css files that monaco-editor's ESM modules import would only add a
// second copy and a font file.
const skipMonacoCss = {
  name: 'skip-monaco-css',
  setup(build) {
    build.onLoad({ filter: /[\\/]monaco-editor[\\/]esm[\\/].*\.css$/ }, () => ({
      contents: '',
      loader: 'css',
    }));
  },
};

const common = {
  absWorkingDir: rootDir,
  bundle: true,
  minify: true,
  target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
};

function buildPage(outdir) {
  return esbuild.build({
    ...common,
    entryPoints: { main: join(srcDir, 'main.tsx') },
    outdir,
    format: 'esm',
    // GraphiQL loads Monaco and Prettier with import(); splitting keeps them out of
    // the first download.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    jsx: 'automatic',
    plugins: [skipMonacoCss],
    metafile: true,
  });
}

function buildWorkers(outdir) {
  return esbuild.build({
    ...common,
    entryPoints: workers,
    outdir: join(outdir, 'workers'),
    // Classic scripts: `new Worker(url)` without { type: 'module' } works everywhere.
    format: 'iife',
    plugins: [skipMonacoCss],
    metafile: true,
  });
}

function totalBytes(...metafiles) {
  return metafiles.flatMap((m) => Object.values(m.outputs)).reduce((sum, out) => sum + out.bytes, 0);
}

/** Replaces web/dist with a finished build in two renames (no half-written tree is ever visible). */
async function swapIntoDist(tmpDir, fingerprint) {
  const oldDir = `${tmpDir}-old`;
  await rename(distDir, oldDir).catch((error) => {
    if (error.code !== 'ENOENT') throw error;
  });
  try {
    await rename(tmpDir, distDir);
  } catch (error) {
    // A parallel build (two `npm test` runs in one tree) swapped in first; from the
    // same inputs it produced the same files, so its result stands.
    if (!['ENOTEMPTY', 'EEXIST'].includes(error.code) || !(await isUpToDate(fingerprint))) throw error;
  }
  await rm(oldDir, { recursive: true, force: true });
}

async function main() {
  const force = process.argv.includes('--force');
  const started = performance.now();
  const fingerprint = await inputFingerprint();
  if (!force && (await isUpToDate(fingerprint))) {
    console.log('web:build: web/dist is up to date (use --force to rebuild)');
    return;
  }

  // Build beside node_modules' cache and swap in at the end, so a server or test that
  // is reading web/dist never sees a half-written tree.
  const tmpDir = join(rootDir, 'node_modules', '.cache', `threatwire-web-${process.pid}`);
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    const [page, worker, consolePage] = await Promise.all([
      buildPage(tmpDir),
      buildWorkers(tmpDir),
      buildConsole(common, srcDir, tmpDir),
    ]);
    await Promise.all(staticFiles.map((file) => copyFile(join(srcDir, file), join(tmpDir, file))));
    await Promise.all(
      consoleStaticFiles.map((file) => copyFile(join(srcDir, file), join(tmpDir, 'console', basename(file)))),
    );
    await writeFile(
      join(tmpDir, '.build-stamp.json'),
      JSON.stringify({ fingerprint, builtAt: new Date().toISOString() }),
    );
    await swapIntoDist(tmpDir, fingerprint);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mib = (totalBytes(page.metafile, worker.metafile, consolePage.metafile) / 1024 / 1024).toFixed(1);
    console.log(`web:build: built web/dist in ${seconds}s (${mib} MiB)`);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error('web:build failed:', error);
  process.exitCode = 1;
});
