// Temporary folders that the tests remove again, whether the test passes or throws.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A fresh folder (`<tmp>/<prefix>XXXXXX`) removed when the test file's tests are done. */
export function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  after(() => removeDir(dir));
  return dir;
}

/** Runs `fn` in a fresh folder and removes the folder when `fn` returns, throws or settles. */
export function withTempDir<T>(prefix: string, fn: (dir: string) => T): T {
  const dir = makeTempDir(prefix);
  let result: T;
  try {
    result = fn(dir);
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => removeDir(dir)) as T;
  removeDir(dir);
  return result;
}
