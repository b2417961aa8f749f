// A job's worker lowers every thread it has, and threads it starts later inherit the lower priority
// (libtorch's start after the call); the nice value comes from LETHE_WORKER_NICE, checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WORKER_NICE, workerNice } from '../../src/workflow/worker-priority.js';

const MODULE = fileURLToPath(new URL('../../src/workflow/worker-priority.js', import.meta.url));

test('lowerPriority lowers the threads a process has and those it starts afterwards', {
  skip: !existsSync('/proc/self/task') && 'Linux only (per-thread nice values in /proc)',
}, () => {
  const child = `
      const { Worker } = await import('node:worker_threads');
      const { readdirSync } = await import('node:fs');
      const { getPriority } = await import('node:os');
      const { lowerPriority } = await import(${JSON.stringify(MODULE)});
      const thread = () => new Promise((r) => { const w = new Worker('setInterval(() => {}, 1000)', { eval: true }); w.once('online', r); });
      await thread(); // started before
      const nice = (tid) => getPriority(Number(tid));
      const before = readdirSync('/proc/self/task').map(nice);
      lowerPriority(7);
      await thread(); // started after
      console.log(JSON.stringify({ before, after: readdirSync('/proc/self/task').map(nice) }));
      process.exit(0);`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' })) as {
    before: number[];
    after: number[];
  };
  assert.ok(
    out.before.every((n) => n < 7),
    `precondition, every thread below 7 at first: ${out.before}`,
  );
  assert.ok(out.after.length > out.before.length, 'a thread was added');
  assert.deepEqual(new Set(out.after), new Set([7]), `every thread at 7: ${out.after}`);
});

test('LETHE_WORKER_NICE: 0 to 19, else a clear error; unset is the default', () => {
  assert.equal(workerNice({}), WORKER_NICE);
  assert.equal(workerNice({ LETHE_WORKER_NICE: '' }), WORKER_NICE);
  assert.equal(workerNice({ LETHE_WORKER_NICE: '0' }), 0);
  assert.equal(workerNice({ LETHE_WORKER_NICE: '19' }), 19);
  for (const bad of ['20', '-1', '2.5', 'low'])
    assert.throws(
      () => workerNice({ LETHE_WORKER_NICE: bad }),
      new RegExp(`'LETHE_WORKER_NICE' must be an integer from 0 to 19, got '${bad}'`),
    );
});
