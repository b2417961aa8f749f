// The runner kills only what it owns. A job left 'running' whose worker process still runs under
// someone else (another server on the data folder, or a library user) is left alone by a runner that
// does not hold the data folder's lock: not killed, not resumed. Holding the lock (the previous
// server is gone), it kills that job's orphaned worker and resumes the job; a live process that is
// not this data folder's worker for the job (a reused pid) is never killed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireDataLock, createJob, getJob, JobRunner } from '../../src/workflow/index.js';
import { closeStores, freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { runner } from '../workflow/fixtures.js';
import { approved, setup } from '../workflow/run-fixtures.js';
import { tempDir } from '../helpers/tmp.js';

after(closeStores);

const FAKE_WORKER = fileURLToPath(new URL('./fake-worker.js', import.meta.url));
const scratch = tempDir('lethe-owner-');

/** A process whose command line looks like `node …/job-worker.js ARGS…` (it only sleeps). */
function lookalike(...args: string[]): ChildProcess {
  const dir = mkdtempSync(join(scratch, 'bin-'));
  const script = join(dir, 'job-worker.js');
  writeFileSync(script, 'setInterval(() => {}, 60_000);\n');
  return spawn(process.execPath, [script, ...args], { stdio: 'ignore' });
}

const gone = (p: ChildProcess) => new Promise<void>((res) => (p.exitCode !== null || p.signalCode ? res() : p.once('exit', () => res())));

/** A job marked running with `pid` as its worker, as a server leaves it. */
async function runningJob(w: TestWorkflow, pid: number): Promise<string> {
  const s = setup(w.dataDir, `forget-${pid}.jsonl`);
  const id = await approved(w, s.forgetFile);
  const job = await createJob(
    w,
    runner,
    id,
    {
      model: 'model',
      forgetFile: s.forgetFile,
      method: 'GradAscent',
      policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] },
      training: { steps: 2 },
    },
    { dataDir: w.dataDir },
  );
  await w.store.db.updateTable('jobs').set({ state: 'running', worker_pid: pid }).where('id', '=', job.id).execute();
  return job.id;
}

async function startAndSettle(r: JobRunner): Promise<void> {
  await r.start();
  await new Promise((res) => setTimeout(res, 300));
}

test("without the data folder's lock, a job whose worker still runs is neither killed nor resumed", async () => {
  const w = await freshWorkflow('sqlite');
  const procs: ChildProcess[] = [];
  try {
    const placeholder = await runningJob(w, 1);
    const worker = lookalike(placeholder, '--data', realpathSync(w.dataDir));
    procs.push(worker);
    const jobId = placeholder;
    await w.store.db.updateTable('jobs').set({ worker_pid: worker.pid! }).where('id', '=', jobId).execute();
    await new Promise((res) => setTimeout(res, 200));
    const lines: string[] = [];
    const r = new JobRunner(w, { dataDir: w.dataDir, workerPath: FAKE_WORKER, log: (l) => lines.push(l) });
    await startAndSettle(r);
    await r.stop();
    assert.equal(worker.exitCode, null, 'not killed');
    assert.equal(worker.signalCode, null, 'not killed');
    const job = await getJob(w, runner, jobId);
    assert.equal(job.state, 'running', 'left to its owner');
    assert.equal(job.attempts, 0, 'not started again');
    assert.match(lines.join('\n'), new RegExp(`job ${jobId}: its worker ${worker.pid} is still running under another process; left alone`));
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map(gone));
    await w.dispose();
  }
});

test("holding the lock, the runner kills the job's orphaned worker and resumes the job, but never a process that is not that worker", async () => {
  const w = await freshWorkflow('sqlite');
  const procs: ChildProcess[] = [];
  const lock = acquireDataLock(w.dataDir);
  try {
    const orphanJob = await runningJob(w, 1);
    const orphan = lookalike(orphanJob, '--data', realpathSync(w.dataDir));
    // Live processes that are not this job's worker in this data folder: another job's id, another
    // data folder, another program altogether.
    const otherDir = join(scratch, 'other-data');
    mkdirSync(otherDir, { recursive: true });
    const strangers = [
      lookalike('job_ffffffffffff', '--data', realpathSync(w.dataDir)),
      lookalike(orphanJob, '--data', realpathSync(otherDir)),
      spawn('sleep', ['60']),
    ];
    procs.push(orphan, ...strangers);
    await w.store.db.updateTable('jobs').set({ worker_pid: orphan.pid! }).where('id', '=', orphanJob).execute();
    const strangerJobs = [];
    for (const p of strangers) strangerJobs.push(await runningJob(w, p.pid!));
    await new Promise((res) => setTimeout(res, 200));
    const r = new JobRunner(w, { dataDir: w.dataDir, workerPath: FAKE_WORKER, lock, concurrency: 4 });
    await r.start();
    await gone(orphan);
    assert.equal(orphan.signalCode, 'SIGKILL', "the orphaned worker of this data folder's job is killed");
    const end = Date.now() + 30_000;
    for (const id of [orphanJob, ...strangerJobs]) {
      while ((await getJob(w, runner, id)).state !== 'succeeded') {
        assert.ok(Date.now() < end, `job ${id} is resumed and finishes`);
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.equal((await getJob(w, runner, id)).attempts, 1);
    }
    await r.stop();
    for (const p of strangers)
      assert.ok(p.exitCode === null && p.signalCode === null, `pid ${p.pid} (${p.spawnargs.join(' ')}) is not killed`);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map(gone));
    lock.release();
    await w.dispose();
  }
});
