// Preload for a server under benchmark: `NODE_OPTIONS="--import ./bench/tools/cpu-profile-hook.mjs"`.
// SIGHUP starts V8's sampling profiler, SIGUSR2 stops it and writes
// $CPU_PROFILE_DIR/server-<n>.cpuprofile (open in Chrome DevTools, or summarise with
// `node bench/tools/profile-summary.mjs <file>`). With PROFILE_KIND=heap it samples
// allocations instead and writes server-<n>.heapprofile (same summary tool).
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CPU_PROFILE_DIR ?? '.data/profiles';
const heap = process.env.PROFILE_KIND === 'heap';
const session = new Session();
session.connect();
let count = 0;
let running = false;

process.on('SIGHUP', () => {
  if (running) return;
  running = true;
  if (heap) {
    session.post('HeapProfiler.startSampling', { samplingInterval: 4096 });
    return;
  }
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')),
  );
});
process.on('SIGUSR2', () => {
  if (!running) return;
  running = false;
  session.post(heap ? 'HeapProfiler.stopSampling' : 'Profiler.stop', (err, result) => {
    if (err) return void console.error('profiler:', err.message);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `server-${++count}.${heap ? 'heapprofile' : 'cpuprofile'}`);
    writeFileSync(file, JSON.stringify(result.profile));
    console.error(`profile written to ${file}`);
  });
});
