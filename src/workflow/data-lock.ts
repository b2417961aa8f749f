// One server per data folder: `lethe serve` holds DATA/serve.lock for its whole life. The file names
// its holder (pid, host, start time, and the kernel's start time of that pid, so a reused pid is not
// taken for the holder). A second server refuses to start and names the holder; a lock whose process
// is gone (same host) is taken over. Other CLI commands never take it: they read and append through
// the store, whose own locking keeps them safe beside a server. The job runner recovers (and may kill
// a worker of) a job left running only while it holds this lock.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { LetheError } from '../util/errors.js';

export const LOCK_FILE = 'serve.lock';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  /** Field 22 of /proc/PID/stat (clock ticks since boot), '' where /proc is missing. */
  procStart: string;
  dataDir: string;
}

export interface DataLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
}

export function procStartOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** True while the lock's holder process runs (on this host; a pid reused by another process is not it). */
export function holderAlive(h: LockHolder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStartOf(h.pid);
  return !h.procStart || !now || now === h.procStart;
}

function readHolder(path: string): { text: string; holder: LockHolder | null } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    return { text, holder: Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null };
  } catch {
    return { text, holder: null };
  }
}

const describe = (h: LockHolder) => `pid ${h.pid} on ${h.host}, since ${h.startedAt}`;

/** Moves a stale lock away, unless someone replaced it meanwhile (then it is put back). */
function takeOver(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readFileSync(aside, 'utf8') !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      /* a third server holds it now: ours is lost either way */
    }
  }
  unlinkSync(aside);
}

/** Takes the data folder's lock or throws CONFLICT naming its live holder. */
export function acquireDataLock(dataDir: string): DataLock {
  const path = join(dataDir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    procStart: procStartOf(process.pid),
    dataDir: realpathSync(dataDir),
  };
  const text = JSON.stringify(holder) + '\n';
  // Written whole beside the lock, then linked into place: link() fails if the lock exists, and
  // nobody ever reads a half-written lock.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const found = readHolder(path);
      if (!found) continue; // released meanwhile
      const h = found.holder;
      if (!h)
        throw new LetheError('CONFLICT', `serve: ${path} exists but does not name a holder; if no lethe serve uses ${dataDir}, remove it`);
      if (h.host !== hostname())
        throw new LetheError(
          'CONFLICT',
          `serve: the data folder ${dataDir} is locked by a lethe serve on another host (${describe(h)}); if it is no longer running, remove ${path}`,
        );
      if (holderAlive(h))
        throw new LetheError(
          'CONFLICT',
          `serve: the data folder ${dataDir} is in use by another lethe serve (${describe(h)}); stop it first (one server per data folder)`,
        );
      if (attempt >= 3)
        throw new LetheError('CONFLICT', `serve: could not take over the stale lock ${path} (other servers starting at once?)`);
      takeOver(path, found.text);
    }
  } finally {
    unlinkSync(tmp);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    if (readHolder(path)?.text === text) unlinkSync(path);
  };
  process.once('exit', release);
  return { path, holder, release };
}
