// The data folder's lock (DATA/serve.lock) on its own: taken, refused while its holder runs (naming
// it), refused for another host's holder, taken over when the holder is gone or its pid now belongs
// to another process, released only by its own holder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireDataLock, LOCK_FILE } from '../../src/workflow/index.js';
import { procStartOf } from '../../src/workflow/data-lock.js';
import { withTempDir } from '../helpers/tmp.js';

function withDir(fn: (dir: string) => Promise<void> | void) {
  return async () => {
    await withTempDir('lethe-lock-', fn);
  };
}

const holderFile = (dir: string, h: Record<string, unknown>) =>
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ startedAt: '2025-01-01T00:00:00.000Z', dataDir: dir, ...h }));

test(
  'the lock names its holder, is private, and a second taker is refused until it is released',
  withDir((dir) => {
    const lock = acquireDataLock(dir);
    const h = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
    assert.equal(h.pid, process.pid);
    assert.equal(h.host, hostname());
    assert.equal(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600);
    assert.throws(
      () => acquireDataLock(dir),
      (e: Error & { code?: string }) =>
        e.code === 'CONFLICT' &&
        e.message.includes(`in use by another lethe serve (pid ${process.pid} on ${hostname()}, since ${h.startedAt})`),
    );
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    acquireDataLock(dir).release();
  }),
);

test(
  'a live holder on this host is refused; a holder on another host is never guessed stale',
  withDir(async (dir) => {
    const other = spawn('sleep', ['30']);
    try {
      await new Promise((r) => setTimeout(r, 100));
      holderFile(dir, { pid: other.pid, host: hostname(), procStart: procStartOf(other.pid!) });
      assert.throws(() => acquireDataLock(dir), new RegExp(`in use by another lethe serve \\(pid ${other.pid} on `));
      holderFile(dir, { pid: 1, host: 'elsewhere.example', procStart: '' });
      assert.throws(
        () => acquireDataLock(dir),
        /locked by a lethe serve on another host \(pid 1 on elsewhere\.example, .*remove .*serve\.lock/,
      );
      writeFileSync(join(dir, LOCK_FILE), 'not json');
      assert.throws(() => acquireDataLock(dir), /does not name a holder/);
    } finally {
      other.kill('SIGKILL');
    }
  }),
);

test(
  'a stale lock is taken over: its holder is gone, or its pid now runs another process',
  withDir(async (dir) => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    for (const stale of [{ pid: gone.pid }, { pid: process.pid, procStart: '1' }]) {
      holderFile(dir, { host: hostname(), procStart: '', ...stale });
      const lock = acquireDataLock(dir);
      assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).startedAt, lock.holder.startedAt, JSON.stringify(stale));
      lock.release();
    }
  }),
);

test(
  'release never removes a lock another process holds now',
  withDir((dir) => {
    const lock = acquireDataLock(dir);
    holderFile(dir, { pid: 1, host: hostname(), procStart: '' });
    lock.release();
    assert.ok(existsSync(join(dir, LOCK_FILE)), "someone else's lock stays");
  }),
);
