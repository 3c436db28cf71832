/**
 * Shared by the benchmarks and bench/run.ts: a benchmark's description is the doc
 * comment at the top of its script, so `--help` and the list can never disagree with it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The leading `/** … *\/` comment of a script, without its comment markers. */
export function docComment(file: string): string {
  const text = readFileSync(file, 'utf8');
  const match = /\/\*\*([\s\S]*?)\*\//.exec(text);
  if (!match?.[1]) return '';
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** The comment's first phrase: what the benchmark measures, without its command line. */
export function summary(file: string): string {
  const first = docComment(file).split('\n')[0] ?? '';
  return first.replace(/:(\s.*)?$/, '').trim();
}

/**
 * With `--help`, prints the script's description and exits before it does any work.
 * Called right after a benchmark's imports, so `--help` also proves they all resolve.
 */
export function exitWithHelpIfAsked(moduleUrl: string): void {
  if (!process.argv.includes('--help')) return;
  console.log(docComment(fileURLToPath(moduleUrl)));
  process.exit(0);
}
