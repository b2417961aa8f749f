// Confinement of every file or folder a user names for the service (a run's model and data files, a
// scope's forget path, a named policy): the real path (symlinks resolved) must lie inside the data
// folder or an allowed root, must not be one of the deployment's own files, and must be what the
// field needs (a regular file under a size limit, or a model folder with config.json). Only stat
// calls: nothing here opens a file, so the server process can check a path without reading it (and
// without closing a descriptor on the SQLite store, which would drop the store's POSIX locks).
import { LOCK_FILE } from './data-lock.js';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalidArgument, type LetheError } from '../util/errors.js';
import { sha256Fd } from '../util/hash.js';
import { KEY_DIR } from './deployment.js';
import { PROVENANCE_FILE } from './provenance.js';
import { SQLITE_FILE } from './store/open.js';

/** Where user files may lie: the data folder and more folders (absolute), e.g. `--data-root`. */
export interface Roots {
  dataDir: string;
  roots?: string[];
}

export const JOBS_DIR = 'jobs';
export const POLICIES_DIR = 'policies';
export const CACHE_DIR = '.lethe-cache';

/** The data folder's own entries, by their first path component below it (the one list: add a new
 *  deployment file here, or name it `lethe.*`). The store and anything else named `lethe.*` (WAL,
 *  shared memory, journal, lock files), other lock and pid files, the provenance index and its
 *  sidecars, the signing key and salt, the job folders (unlearned models, evaluations with per-item
 *  outputs, certificates, logs), the default policies folder, and result caches (anywhere below). */
const INTERNAL_TOP = [
  {
    test: (n: string) => n.startsWith('lethe.') || n === SQLITE_FILE,
    what: `the store (${SQLITE_FILE} and its -wal, -shm, -journal, lethe.* files)`,
  },
  {
    test: (n: string) => /\.(lock|pid)$/.test(n) || n.startsWith(LOCK_FILE) /* serve.lock and its .tmp / .stale-PID siblings */,
    what: 'a lock file',
  },
  {
    test: (n: string) => n === PROVENANCE_FILE || n.startsWith(`${PROVENANCE_FILE}-`),
    what: `the provenance index (${PROVENANCE_FILE} and its sidecars)`,
  },
  { test: (n: string) => n === KEY_DIR, what: `the deployment's keys (${KEY_DIR}/)` },
  { test: (n: string) => n === JOBS_DIR, what: `the job folders (${JOBS_DIR}/)` },
  { test: (n: string) => n === POLICIES_DIR, what: `the policies folder (${POLICIES_DIR}/)` },
] as const;

/** Largest data file accepted (bytes): $LETHE_MAX_INPUT_BYTES, default 1 GiB. */
export function maxInputBytes(): number {
  const env = Number(process.env.LETHE_MAX_INPUT_BYTES);
  return Number.isSafeInteger(env) && env > 0 ? env : 1024 ** 3;
}

/** file: a regular file; model: a Hugging Face model folder (config.json); folder: any folder of
 *  model files (a PEFT adapter, a SISA ensemble), checked entry by entry as a model folder is. */
export type PathKind = 'file' | 'model' | 'folder';

export interface ConfineOptions {
  /** The operation, for the message ("run", "request scope"). */
  where: string;
  /** The field the path came from ("forgetFile", "forget.path"). */
  field: string;
  kind: PathKind;
  /** Largest file (kind 'file'; default maxInputBytes()). */
  maxBytes?: number;
  /** Skip the roots check (the local CLI's own paths); the deployment's files are still refused. */
  anywhere?: boolean;
  /** The one internal area this field may name (a named policy lies in the policies folder). */
  allow?: typeof POLICIES_DIR;
}

const inside = (child: string, parent: string) => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

const real = (p: string): string | null => {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
};

function fail(o: ConfineOptions, expected: string, value: string): LetheError {
  return invalidArgument(o.where, o.field, expected, value, { field: o.field });
}

/** What deployment file `path` (a real path) is, or null when it is none of them. */
export function deploymentInternal(path: string, dataDir: string, allow?: string): string | null {
  const data = real(dataDir) ?? resolve(dataDir);
  if (!inside(path, data)) return inside(data, path) ? 'a folder holding the data folder' : null;
  const parts = relative(data, path).split(sep).filter(Boolean);
  if (!parts.length) return 'the data folder itself';
  if (parts.includes(CACHE_DIR)) return `a result cache (${CACHE_DIR}/)`;
  const top = parts[0]!;
  if (allow && top === allow) return null;
  return INTERNAL_TOP.find((i) => i.test(top))?.what ?? null;
}

const namesIn = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return []; // no such folder yet
  }
};

/** The store's files and the keys (device and inode), so that a hard link to one is refused too. */
function storeInodes(dataDir: string): Set<string> {
  const ids = new Set<string>();
  const files = [
    ...namesIn(dataDir)
      .filter((n) => n !== KEY_DIR && INTERNAL_TOP.some((i) => i.test(n)))
      .map((n) => join(dataDir, n)),
    ...namesIn(join(dataDir, KEY_DIR)).map((n) => join(dataDir, KEY_DIR, n)),
  ];
  for (const f of files) {
    const st = lstatSync(f, { throwIfNoEntry: false });
    if (st?.isFile()) ids.add(`${st.dev}:${st.ino}`);
  }
  return ids;
}

/** A file the server itself reads from a recorded path (a release's certificate): a regular file (not
 *  a symlink, fifo or device) of at most `maxBytes`, and no hard link to the store, whose descriptor
 *  the server must never close. */
export function safeToRead(path: string, dataDir: string, maxBytes: number): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return !!st && st.isFile() && st.size <= maxBytes && !storeInodes(real(dataDir) ?? dataDir).has(`${st.dev}:${st.ino}`);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Checks every entry of a model folder (recursively, symlinks followed as the worker's readers and
 *  the registry's hashing follow them) without opening any: none may be a deployment file (a
 *  symlinked weights file pointing at the store) or something other than a file or folder. */
function checkModelEntries(dir: string, r: Roots, o: ConfineOptions, value: string, seen = new Set<string>()): void {
  seen.add(dir);
  for (const name of readdirSync(dir)) {
    const p = real(join(dir, name));
    if (!p) continue; // a dangling link: nothing to read
    const what = deploymentInternal(p, r.dataDir);
    if (what) throw fail(o, `a model folder whose files are not the deployment's own (${name} is ${what})`, value);
    const st = statSync(p);
    if (st.isDirectory()) {
      if (!seen.has(p)) checkModelEntries(p, r, o, value, seen);
    } else if (!st.isFile()) throw fail(o, `a model folder of regular files (${name} is ${kindOf(st)})`, value);
  }
}

/** The real path of a user-named file or folder, checked as described above; a LetheError (BAD_INPUT
 *  naming the field and what was expected) otherwise. Never opens the file. */
export function confinePath(value: string, r: Roots, o: ConfineOptions): string {
  const full = resolve(r.dataDir, value);
  const path = real(full);
  const where = r.roots?.length ? 'inside the data folder or an allowed --data-root' : 'inside the data folder';
  if (!path) throw fail(o, `an existing path${o.anywhere ? '' : ` ${where}`}`, value);
  if (!o.anywhere) {
    const roots = [r.dataDir, ...(r.roots ?? [])].map(real).filter((x): x is string => !!x);
    if (!roots.some((root) => inside(path, root))) throw fail(o, `a path ${where}`, value);
  }
  const what = deploymentInternal(path, r.dataDir, o.allow);
  if (what) throw fail(o, `a ${o.kind === 'file' ? 'file' : 'model folder'} of yours, not ${what}`, value);
  const st = lstatSync(path);
  if (o.kind !== 'file') {
    if (!st.isDirectory()) throw fail(o, o.kind === 'model' ? 'a Hugging Face model folder (with config.json)' : 'a folder', value);
    if (o.kind === 'model' && !statSync(join(path, 'config.json'), { throwIfNoEntry: false })?.isFile())
      throw fail(o, 'a Hugging Face model folder (with config.json)', value);
    checkModelEntries(path, r, o, value);
    return path;
  }
  if (!st.isFile()) throw fail(o, `a regular file (it is ${kindOf(st)})`, value);
  if (storeInodes(real(r.dataDir) ?? r.dataDir).has(`${st.dev}:${st.ino}`))
    throw fail(o, "a file of yours, not a link to the deployment's store or keys", value);
  const max = o.maxBytes ?? maxInputBytes();
  if (st.size > max) throw fail(o, `a file of at most ${max} bytes (it has ${st.size}; see LETHE_MAX_INPUT_BYTES)`, value);
  return path;
}

/** Uses a file that confinePath accepted through one descriptor that is checked again (fstat: still a
 *  regular file under the limit) before any byte is read, so that a file swapped for a fifo or a
 *  device after the check neither blocks nor exhausts the process. Opened without following a final
 *  symlink, without blocking. */
function useConfinedFile<T>(path: string, o: Pick<ConfineOptions, 'where' | 'field' | 'maxBytes'>, use: (fd: number) => T): T {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    const max = o.maxBytes ?? maxInputBytes();
    if (!st.isFile()) throw fail({ ...o, kind: 'file' }, `a regular file (it is ${kindOf(st)})`, path);
    if (st.size > max)
      throw fail({ ...o, kind: 'file' }, `a file of at most ${max} bytes (it has ${st.size}; see LETHE_MAX_INPUT_BYTES)`, path);
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a file that confinePath accepted (in 1 MiB reads). */
export function sha256ConfinedFile(path: string, o: Pick<ConfineOptions, 'where' | 'field' | 'maxBytes'>): string {
  return useConfinedFile(path, o, sha256Fd);
}

/** The bytes of a file that confinePath accepted. */
export function readConfinedFile(path: string, o: Pick<ConfineOptions, 'where' | 'field' | 'maxBytes'>): Buffer {
  return useConfinedFile(path, o, (fd) => readFileSync(fd));
}
