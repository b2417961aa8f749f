// Files written whole or not at all: the data goes to a temporary file in the same folder, which is
// then renamed over the target, so a reader (or a crash) never sees half a file.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LetheError } from './errors.js';

export interface WriteFileAtomicOptions {
  /** Flush the file and its folder to disk before returning: for records a crash must not lose
   *  (certificates, registry and audit files, keys), not for results that can be computed again. */
  fsync?: boolean;
  /** Permission bits of a new file (e.g. 0o600 for a key). */
  mode?: number;
  /** Refuse (CONFLICT) when the target exists, instead of replacing it. */
  exclusive?: boolean;
}

/** Writes `data` to `path` atomically (the folder must exist). */
export function writeFileAtomic(path: string, data: string | Uint8Array, o: WriteFileAtomicOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(tmp, 'wx', o.mode ?? 0o666);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      if (o.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (o.exclusive) linkTo(tmp, path);
    else renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  if (o.fsync) fsyncFolder(dir);
}

/** link() fails if the target exists, where rename() would replace it. */
function linkTo(tmp: string, path: string): void {
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new LetheError('CONFLICT', `${path} already exists (it is not replaced)`);
    throw err;
  }
}

/** Makes a rename or a new file in `dir` durable. */
function fsyncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
