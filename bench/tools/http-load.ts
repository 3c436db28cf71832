/**
 * What the HTTP throughput benches (floor, lists) share: a server process's CPU time, the
 * machine load line, medians, a child server that prints `listening <url>`, and one
 * measured window of closed-loop load from a process of its own (bench/floor/load.ts).
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fromRoot } from '../../src/platform/paths.js';
import type { LoadResult, LoadTarget } from '../floor/load.js';

export const CPU_PROFILE_HOOK = fromRoot('bench', 'tools', 'cpu-profile-hook.mjs');

export interface MeasuredServer {
  name: string;
  url: string;
  child: ChildProcess;
  key?: string;
}

export interface WindowResult {
  /** Successful answers per second: failed ones are counted, not served. */
  rps: number;
  /** Server CPU per request sent, in µs. */
  cpuUs: number;
  requests: number;
  errors: number;
}

export const uptime = () => execSync('uptime').toString().trim();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** User + system CPU seconds of a process, from /proc. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Starts `node <args>` and resolves with the URL once it prints `listening <url>`. */
export async function spawnListening(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  profileDir?: string,
): Promise<MeasuredServer> {
  const child = spawn(process.execPath, [...(profileDir ? ['--import', CPU_PROFILE_HOOK] : []), ...args], {
    cwd: fromRoot(),
    env: { ...env, ...(profileDir ? { CPU_PROFILE_DIR: profileDir } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${out}`)));
  });
  child.stdout.resume();
  return { name, url, child };
}

/**
 * One measured window: a fresh load process against `s`, the server's CPU read around
 * the measured part. With `profile`, SIGHUP/SIGUSR2 start and stop the server's CPU
 * profile (bench/tools/cpu-profile-hook.mjs) around the same window.
 */
export function measureLoad(
  s: MeasuredServer,
  load: { body: string; connections: number; warmupSeconds: number; seconds: number; profile: boolean },
): Promise<WindowResult> {
  return new Promise<WindowResult>((resolve, reject) => {
    const generator = fork(fromRoot('bench', 'floor', 'load.ts'), [], {
      execArgv: process.execArgv,
      stdio: 'inherit',
    });
    const pid = s.child.pid!;
    let cpu0 = 0;
    generator.on('message', (msg: { phase: 'measuring' } | LoadResult) => {
      if (msg.phase === 'measuring') {
        if (load.profile) s.child.kill('SIGHUP');
        cpu0 = cpuSeconds(pid);
        return;
      }
      const cpu = cpuSeconds(pid) - cpu0;
      if (load.profile) s.child.kill('SIGUSR2');
      if (msg.errors > 0) console.error(`${s.name}: ${msg.errors} failed requests, e.g.:\n${msg.sample}`);
      resolve({
        rps: (msg.requests - msg.errors) / msg.seconds,
        cpuUs: (cpu * 1e6) / msg.requests,
        requests: msg.requests,
        errors: msg.errors,
      });
    });
    generator.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
    const target: LoadTarget = {
      url: s.url,
      body: load.body,
      connections: load.connections,
      ...(s.key ? { key: s.key } : {}),
    };
    generator.send({ target, warmupSeconds: load.warmupSeconds, seconds: load.seconds });
  });
}
