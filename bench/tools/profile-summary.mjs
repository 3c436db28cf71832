// Summarises a .cpuprofile: self time per function and per package, and the total time
// under a few frames of interest. Usage: node bench/tools/profile-summary.mjs <file> [N]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.mjs <file.cpuprofile> [top N]');
const top = Number(topArg ?? 40);
let profile = JSON.parse(readFileSync(file, 'utf8'));
if (profile.head) profile = fromHeapProfile(profile.head); // a .heapprofile: bytes instead of samples
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfCount = new Map();
for (const s of profile.samples) selfCount.set(s, (selfCount.get(s) ?? 0) + 1);
const total = profile.samples.length;

const where = (cf) => {
  const url = cf.url.replace(/^file:\/\//, '');
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
  if (pkg) return pkg;
  if (url.includes('/src/')) return `src/${url.split('/src/')[1]}`;
  return url || '(native)';
};
const bySelf = new Map();
const byPkg = new Map();
const inclusive = new Map();
for (const [id, count] of selfCount) {
  const n = nodes.get(id);
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anonymous)'} ${where(cf)}:${cf.lineNumber + 1}`;
  bySelf.set(key, (bySelf.get(key) ?? 0) + count);
  const pkg = where(cf).startsWith('src/') ? where(cf).split(':')[0] : where(cf);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + count);
  // inclusive: every distinct function on the stack once
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = nodes.get(cur).callFrame;
    const k = `${f.functionName || '(anonymous)'} ${where(f)}:${f.lineNumber + 1}`;
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + count);
  }
}
const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)} %`;
const show = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, c] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(c)}  ${k}`);
};
console.log(`${total} samples`);
show('self time by package/file', byPkg, 25);
show('self time by function', bySelf, top);
show('inclusive time by function', inclusive, top);

/** A sampling heap profile as a CPU-profile-shaped tree whose "samples" are KiB allocated. */
function fromHeapProfile(head) {
  const nodes = [];
  const samples = [];
  const walk = (n) => {
    nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map((c) => c.id) });
    for (let k = 0; k < Math.round(n.selfSize / 1024); k++) samples.push(n.id);
    n.children.forEach(walk);
  };
  walk(head);
  return { nodes, samples };
}
