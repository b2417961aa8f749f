// A throw-away PostgreSQL server (Debian's `postgresql`) for the store tests. PGlite runs the engine
// in this process only; a real server shows what several processes sharing one database do (a job's
// worker opening the store by URL). One cluster per test process, started on first use: initdb into
// a fresh temp folder, trust auth, fsync off, listening on 127.0.0.1 (a free port) and a socket in
// that folder. As root it runs as the `postgres` user (the server refuses root). It is stopped by
// stopPostgresServer() (the test file's after hook), at process exit, or by a watchdog shell that
// outlives a killed test process.
import { execFile, spawn } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/util/net.js';

const DEBIAN_ROOT = '/usr/lib/postgresql';
const run = promisify(execFile);

export const INSTALL_HINT =
  "Debian's postgresql is not installed (no /usr/lib/postgresql/<version>/bin/initdb): `npm run setup` installs it";

/** The bin folder of the newest PostgreSQL installed the Debian way, or null. */
export function postgresBinDir(): string | null {
  let versions: string[];
  try {
    versions = readdirSync(DEBIAN_ROOT).filter((v) => /^\d+$/.test(v));
  } catch {
    return null;
  }
  const dirs = versions.sort((a, b) => Number(b) - Number(a)).map((v) => join(DEBIAN_ROOT, v, 'bin'));
  return dirs.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) ?? null;
}

/** Why the real-server tests are skipped here, or false. In CI a missing server fails instead. */
export function postgresSkip(): string | false {
  return postgresBinDir() || process.env.CI === 'true' ? false : INSTALL_HINT;
}

export interface PostgresServer {
  port: number;
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
}

interface Cluster {
  dir: string;
  data: string;
  port: number;
  watchdog: number | undefined;
}

let starting: Promise<PostgresServer> | null = null;
let cluster: Cluster | null = null;
let databases = 0;

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL program, as `postgres` when we are root. */
async function pgRun(bin: string, args: string[], cwd: string): Promise<void> {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  await run(cmd, argv, { cwd, timeout: 60_000 });
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function start(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`PostgreSQL server tests: ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'lethe-pg-'));
  const data = join(dir, 'data');
  const c: Cluster = { dir, data, port: 0, watchdog: undefined };
  cluster = c;
  process.once('exit', stopNow);
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    chownSync(dir, uid, gid);
  }
  await pgRun(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off', // throw-away data: no need to survive a power cut
      'synchronous_commit = off',
      'full_page_writes = off',
      "shared_buffers = '32MB'",
      '',
    ].join('\n'),
  );
  // A free port can be taken between freePort() and the bind: try another.
  for (let attempt = 1; ; attempt++) {
    c.port = await freePort();
    try {
      await pgRun(join(bin, 'pg_ctl'), ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', `-p ${c.port}`], dir);
      break;
    } catch (err) {
      const log = logTail(dir);
      if (attempt < 3 && /could not bind|already in use/i.test(log)) continue;
      throw new Error(`PostgreSQL server tests: pg_ctl start failed: ${(err as Error).message}\n${log}`);
    }
  }
  c.watchdog = startWatchdog(c);
  return { port: c.port, createDatabase: () => createDatabase(c.port) };
}

async function createDatabase(port: number): Promise<string> {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  const name = `lethe_${++databases}`;
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:${port}/${name}`;
}

/** The shared server of this test process, started on first call. */
export function postgresServer(): Promise<PostgresServer> {
  starting ??= start();
  return starting;
}

/** A shell that stops the cluster if this process dies without running its exit handlers (SIGKILL). */
function startWatchdog(c: Cluster): number | undefined {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'kill -QUIT "$(head -1 "$2/postmaster.pid" 2>/dev/null)" 2>/dev/null',
    'i=0; while [ -e "$2/postmaster.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done',
    'rm -rf "$3"',
  ].join('\n');
  const p = spawn('sh', ['-c', script, 'lethe-pg-watchdog', String(process.pid), c.data, c.dir], { detached: true, stdio: 'ignore' });
  p.unref();
  return p.pid;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Immediate shutdown of the postmaster (it takes its backends down), then the folder goes.
 *  Synchronous so that it also works in an 'exit' handler. */
function stopNow(): void {
  const c = cluster;
  if (!c) return;
  cluster = null;
  starting = null;
  process.off('exit', stopNow);
  if (c.watchdog) {
    try {
      process.kill(c.watchdog, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const pidFile = join(c.data, 'postmaster.pid');
  let pid = 0;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    /* never started */
  }
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      /* already gone */
    }
    // The postmaster removes its pid file last; wait for it rather than for the pid (a zombie under
    // a PID 1 that does not reap would look alive forever).
    for (let i = 0; i < 200 && existsSync(pidFile); i++) sleepSync(50);
  }
  rmSync(c.dir, { recursive: true, force: true });
}

/** Stops this process's server, if one was started (the next postgresServer() starts a new one). */
export async function stopPostgresServer(): Promise<void> {
  if (starting) await starting.catch(() => {});
  stopNow();
}
