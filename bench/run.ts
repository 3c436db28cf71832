/**
 * The benchmark runner: `npm run bench` lists the benchmarks, `npm run bench -- <name>
 * [args]` runs one, `npm run bench -- <name> --help` prints what it measures and its
 * options. A benchmark is `bench/<name>/<name>.ts`; its helpers live beside it in the
 * same folder. Figures and the conditions they were measured in: docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docComment, summary } from './help.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

function benchmarks(): { name: string; file: string }[] {
  return readdirSync(BENCH_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, file: join(BENCH_DIR, d.name, `${d.name}.ts`) }))
    .filter((b) => existsSync(b.file))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function list(): void {
  const all = benchmarks();
  const width = Math.max(...all.map((b) => b.name.length));
  console.log('Benchmarks (npm run bench -- <name> [args]; <name> --help for options):\n');
  for (const b of all) console.log(`  ${b.name.padEnd(width)}  ${summary(b.file)}`);
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === 'list') {
  list();
} else {
  const bench = benchmarks().find((b) => b.name === name);
  if (!bench) {
    console.error(`No benchmark named "${name}".\n`);
    list();
    process.exit(2);
  }
  if (args.includes('--help') && !readFileSync(bench.file, 'utf8').includes('exitWithHelpIfAsked(')) {
    // A script that does not handle --help itself must not be started by asking.
    console.log(docComment(bench.file));
  } else {
    // A process of its own, as `npx tsx bench/<name>/<name>.ts` would run it: scripts read
    // process.argv and some fork themselves (process.argv[1]).
    const child = spawn(process.execPath, [...process.execArgv, bench.file, ...args], { stdio: 'inherit' });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  }
}
