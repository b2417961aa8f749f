// A job worker whose server is killed (kill -9) exits at once, even while its main thread is busy
// loading the model stack: it must never write on after its server is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

const WORKER = join(repoRoot, 'dist/src/workflow/job-worker.js');
const PARENT = join(repoRoot, 'dist/test/server/worker-parent.js');

/** Alive and not a zombie (a killed parent's child may wait to be reaped by init). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('kill -9 of the server: its worker exits at once (within 1.5 s), even in the middle of starting up', async () => {
  await withTempDir('lethe-watchdog-', async (data) => {
    const parent = spawn(process.execPath, [PARENT, WORKER, data], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((res, rej) => {
      parent.stdout!.once('data', (b: Buffer) => res(Number(b.toString().trim())));
      parent.once('exit', () => rej(new Error('the stand-in server exited')));
    });
    assert.ok(pid > 0 && running(pid), 'the worker started');
    await new Promise((r) => setTimeout(r, 150)); // the worker is loading its modules now
    const killedAt = Date.now();
    parent.kill('SIGKILL');
    while (running(pid) && Date.now() - killedAt < 10_000) await new Promise((r) => setTimeout(r, 20));
    const after = Date.now() - killedAt;
    assert.ok(!running(pid), 'the worker exited');
    assert.ok(after < 1500, `the worker outlived its server by ${after} ms`);
  });
});
