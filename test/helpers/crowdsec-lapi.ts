/**
 * Starts a real CrowdSec Local API for integration tests (only internet APIs are faked): binaries
 * extracted from Debian's package by scripts/crowdsec-install.sh, a private config,
 * a sqlite file in a temp dir, a free loopback port, one bouncer key and one machine.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fromRoot } from '../../src/platform/paths.js';
import { isCI } from './services.js';
import { freePort } from '../../src/platform/free-port.js';

export interface Lapi {
  url: string;
  bouncerKey: string;
  machineId: string;
  machinePassword: string;
  configDir: string;
  /** Runs `cscli -c <config> ...args` and resolves with its stdout. */
  cscli(args: string[]): Promise<string>;
  stop(): Promise<void>;
  /** Same port and database; a new JWT secret invalidates every issued token. */
  restart(opts?: { newJwtSecret?: boolean }): Promise<void>;
}

export interface LapiBinaries {
  crowdsec: string;
  cscli: string;
}

const INSTALL_HINT = 'run scripts/crowdsec-install.sh (extracts Debian’s crowdsec package into .crowdsec/)';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function lapiBinaries(): LapiBinaries | undefined {
  const dirs = [
    fromRoot('.crowdsec', 'usr', 'bin'),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
  ];
  for (const dir of dirs) {
    const crowdsec = join(dir, 'crowdsec');
    const cscli = join(dir, 'cscli');
    if (isExecutable(crowdsec) && isExecutable(cscli)) return { crowdsec, cscli };
  }
  return undefined;
}

/** Binaries, or undefined with a visible skip message; under CI=true a missing binary fails. */
export function lapiOrSkip(what: string): LapiBinaries | undefined {
  const bins = lapiBinaries();
  if (bins) return bins;
  if (isCI)
    throw new Error(`CI=true but CrowdSec binaries are missing: "${what}" needs them; ${INSTALL_HINT}`);
  console.warn(`[skip] ${what}: CrowdSec binaries not found; ${INSTALL_HINT}`);
  return undefined;
}

const secret = () => randomBytes(48).toString('hex'); // 1.4.6 rejects CS_LAPI_SECRET under 64 chars
const token = (bytes: number) => randomBytes(bytes).toString('hex');

function writeConfig(dir: string, port: number): string {
  const p = (...parts: string[]) => join(dir, ...parts);
  writeFileSync(p('hub', '.index.json'), '{}');
  writeFileSync(p('simulation.yaml'), 'simulation: false\n');
  // The stock profile: alerts flagged `remediation: true` on an Ip get a 4h ban.
  writeFileSync(
    p('profiles.yaml'),
    [
      'name: default_ip_remediation',
      'filters:',
      ' - Alert.Remediation == true && Alert.GetScope() == "Ip"',
      'decisions:',
      ' - type: ban',
      '   duration: 4h',
      'on_success: break',
      '',
    ].join('\n'),
  );
  const config = `common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: ${dir}
config_paths:
  config_dir: ${dir}/
  data_dir: ${p('data')}/
  simulation_path: ${p('simulation.yaml')}
  hub_dir: ${p('hub')}/
  index_path: ${p('hub', '.index.json')}
  notification_dir: ${p('notifications')}/
  plugin_dir: ${p('plugins')}/
crowdsec_service:
  acquisition_path: ${p('acquis.yaml')}
  parser_routines: 1
cscli:
  output: human
  color: no
db_config:
  log_level: warning
  type: sqlite
  db_path: ${p('data', 'crowdsec.db')}
  use_wal: true
api:
  client:
    insecure_skip_verify: false
    credentials_path: ${p('cscli-credentials.yaml')}
  server:
    log_level: info
    listen_uri: 127.0.0.1:${port}
    profiles_path: ${p('profiles.yaml')}
    console_path: ${p('console.yaml')}
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 0
`;
  writeFileSync(p('config.yaml'), config);
  return p('config.yaml');
}

/** Every LAPI this process started, so that an exiting test process leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the wrapper and crowdsec share the group we created
  } catch {
    /* already gone */
  }
}

/*
 * A shell wrapper runs crowdsec and kills it as soon as its stdin reaches EOF, which
 * happens when we close it *or* when this Node process dies in any way (even SIGKILL,
 * when no exit handler runs). The reader gets fd 3 because a background job's stdin
 * is /dev/null in a non-interactive shell.
 */
const WRAPPER = 'exec 3<&0; "$0" "$@" & pid=$!; (read -r _ <&3; kill $pid) >/dev/null 2>&1 & wait $pid';

async function waitReady(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  throw new Error(
    `CrowdSec LAPI at ${url} did not become ready (exit ${child.exitCode ?? child.signalCode}):\n${tail}`,
  );
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startLapi(opts: { port?: number } = {}): Promise<Lapi> {
  const bins = lapiBinaries();
  if (!bins) throw new Error(`CrowdSec binaries not found; ${INSTALL_HINT}`);
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'tw-lapi-'));
  mkdirSync(join(dir, 'hub'));
  mkdirSync(join(dir, 'data'));
  const configPath = writeConfig(dir, port);
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'lapi.log');
  let jwtSecret = secret();
  let child: ChildProcess | undefined;

  const launch = async () => {
    const log = openSync(logFile, 'a');
    const proc = spawn('/bin/sh', ['-c', WRAPPER, bins.crowdsec, '-c', configPath, '-no-cs'], {
      cwd: dir,
      env: { ...process.env, CS_LAPI_SECRET: jwtSecret },
      stdio: ['pipe', log, log],
      detached: true, // own process group, so stop() reaches crowdsec too
    });
    closeSync(log);
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    child = proc;
    await waitReady(url, proc, logFile);
  };

  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc) return;
    // EOF first: the wrapper then stops crowdsec and reaps it; signals are the fallback.
    proc.stdin?.end();
    if (!(await waitExit(proc, 3_000))) killGroup(proc, 'SIGTERM');
    if (!(await waitExit(proc, 3_000))) killGroup(proc, 'SIGKILL');
    await waitExit(proc, 2_000);
    running.delete(proc);
  };

  const cscli = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        bins.cscli,
        ['-c', configPath, ...args],
        { timeout: 30_000, cwd: dir },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`cscli ${args.join(' ')} failed: ${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });

  try {
    await launch();
    const bouncerKey = token(16);
    const machineId = `threatwire-test-${token(4)}`;
    const machinePassword = token(12);
    // cscli's own commands (decisions add/list) log in with the api.client credentials.
    await cscli([
      'machines',
      'add',
      'cscli-local',
      '--auto',
      '-f',
      join(dir, 'cscli-credentials.yaml'),
      '--force',
    ]);
    await cscli(['bouncers', 'add', `threatwire-test-${token(4)}`, '-k', bouncerKey]);
    await cscli([
      'machines',
      'add',
      machineId,
      '--password',
      machinePassword,
      '-f',
      join(dir, 'machine.yaml'),
      '--force',
    ]);
    return {
      url,
      bouncerKey,
      machineId,
      machinePassword,
      configDir: dir,
      cscli,
      stop: async () => {
        await halt();
        if (!process.env.KEEP_LAPI_DIR) rmSync(dir, { recursive: true, force: true });
      },
      restart: async ({ newJwtSecret = false } = {}) => {
        await halt();
        if (newJwtSecret) jwtSecret = secret();
        await launch();
      },
    };
  } catch (err) {
    await halt();
    if (!process.env.KEEP_LAPI_DIR) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
