import { spawn, type ChildProcess } from 'node:child_process';
import { fromRoot } from '../../src/platform/paths.js';

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  origin: string;
  wsUrl: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs the server as its own process and waits for its banner: `src/main.ts` through tsx,
 * or with `entry: 'build'` the compiled `dist/main.js` exactly as `npm start` runs it (for
 * benchmarks: tsx's resolve hooks and source transforms cost CPU on some request paths).
 */
export async function spawnServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
  entry: 'source' | 'build' = 'source',
): Promise<SpawnedServer> {
  const args =
    entry === 'build'
      ? ['--enable-source-maps', fromRoot('dist', 'main.js')]
      : ['--import', 'tsx', fromRoot('src', 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: fromRoot(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = Date.now();
  for (;;) {
    const m = /GraphQL \(HTTP\)\s+(\S+)/.exec(out);
    if (m?.[1]) {
      const url = m[1];
      return {
        child,
        url,
        origin: new URL(url).origin,
        wsUrl: url.replace(/^http/, 'ws'),
        output: () => out,
        exited,
      };
    }
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${out}`);
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
