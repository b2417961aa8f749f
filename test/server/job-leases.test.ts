// Two job runners on one store, with short leases and a stand-in worker that stays in verification
// until it is killed: a cancel asked of a runner that does not hold the job is carried out by its
// holder (nobody else kills anything); a runner whose lease is taken over stops its own worker and
// writes nothing more; a runner that stops hands its job back, and the next runner resumes it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { auditEntries, getJob, JobRunner } from '../../src/workflow/index.js';
import { claimNext } from '../../src/workflow/job-lease.js';
import { closeStores, freshWorkflow, type TestWorkflow } from '../workflow/stores.js';
import { runner as root } from '../workflow/fixtures.js';
import { approved, setup } from '../workflow/run-fixtures.js';
import { alive, until } from './serve-process.js';

after(closeStores);

const SLOW_WORKER = fileURLToPath(new URL('./slow-worker.js', import.meta.url));
const LEASE = { leaseMs: 1200, heartbeatMs: 200 };

function runnerOn(w: TestWorkflow, lines: string[] = [], concurrency = 1): JobRunner {
  return new JobRunner(w, {
    dataDir: w.dataDir,
    workerPath: SLOW_WORKER,
    lease: LEASE,
    pollMs: 100,
    concurrency,
    log: (l) => lines.push(l),
  });
}

/** A GradAscent job of an approved request, submitted through `via`. */
async function submitted(w: TestWorkflow, via: JobRunner): Promise<{ id: string }> {
  const s = setup(w.dataDir);
  const request = await approved(w, s.forgetFile);
  const body = {
    model: 'model',
    forgetFile: s.forgetFile,
    method: 'GradAscent',
    policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] },
  };
  return via.submit(root, request, body);
}

/** A job submitted through `via` (which runs none) and running under `holder`; its worker's pid. */
async function runningUnder(w: TestWorkflow, via: JobRunner, holder: JobRunner): Promise<{ id: string; pid: number }> {
  const { id } = await submitted(w, via);
  await holder.start();
  const row = await until('the job to run', async () => {
    const r = await w.store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return r.worker_pid && r.lease_holder === holder.holder ? r : undefined;
  });
  return { id, pid: Number(row.worker_pid) };
}

test('a cancel asked of a runner that does not hold the job is carried out by its holder', async () => {
  const w = await freshWorkflow('sqlite');
  const [front, holder] = [runnerOn(w, [], 0), runnerOn(w)];
  try {
    const { id, pid } = await runningUnder(w, front, holder);
    const job = await front.cancel(root, id);
    assert.deepEqual([job.state, job.error], ['cancelled', `cancelled by ${root.name}`]);
    assert.equal(alive(pid), false, 'the holder stopped its worker');
    const cancels = [];
    for await (const e of auditEntries(w.store.db)) if (e.action === 'job.cancel') cancels.push([e.actor, e.details.was]);
    assert.deepEqual(cancels, [[root.name, 'running']]);
  } finally {
    await Promise.all([front.stop(), holder.stop()]);
    await w.dispose();
  }
});

test('a runner whose lease was taken over stops its own worker and writes nothing more', async () => {
  const w = await freshWorkflow('sqlite');
  const lines: string[] = [];
  const [front, holder] = [runnerOn(w, [], 0), runnerOn(w, lines)];
  try {
    const { id, pid } = await runningUnder(w, front, holder);
    // As a claim by another runner after this one's lease ran out would leave the row.
    await w.store.db.updateTable('jobs').set({ lease_holder: 'elsewhere/1/1/x' }).where('id', '=', id).execute();
    await until('the worker to be stopped', () => (alive(pid) ? undefined : true), 10_000);
    await until('the runner to let go', () => (holder.holds(id) ? undefined : true), 10_000);
    const job = await getJob(w, root, id);
    assert.deepEqual([job.state, job.error], ['running', null], 'no outcome written by the runner that lost it');
    assert.match(lines.join('\n'), new RegExp(`job ${id}: lease lost \\(.*\\); its worker ${pid} is stopped`));
  } finally {
    await Promise.all([front.stop(), holder.stop()]);
    await w.dispose();
  }
});

test('a runner that stops hands its job back; the next one resumes it (audited)', async () => {
  const w = await freshWorkflow('sqlite');
  const [front, first, second] = [runnerOn(w, [], 0), runnerOn(w), runnerOn(w)];
  try {
    const { id, pid } = await runningUnder(w, front, first);
    await first.stop();
    assert.equal(alive(pid), false);
    const back = await w.store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual([back.state, back.lease_holder, back.lease_expires_at], ['queued', null, null]);
    await second.start();
    await until('the next runner to resume it', async () =>
      (await getJob(w, root, id)).state === 'running' && second.holds(id) ? true : undefined,
    );
    const claims = await w.store.db.selectFrom('job_claims').selectAll().where('job_id', '=', id).orderBy('attempt').execute();
    assert.deepEqual(
      claims.map((c) => [c.holder, c.end_reason]),
      [
        [first.holder, 'handed back'],
        [second.holder, null],
      ],
    );
    const resumed = [];
    for await (const e of auditEntries(w.store.db)) if (e.action === 'job.resumed') resumed.push(e.details.job);
    assert.deepEqual(resumed, [id]);
  } finally {
    await Promise.all([front.stop(), first.stop(), second.stop()]);
    await w.dispose();
  }
});

test('a cancel asked while the holder was dead is carried out by the next claim, without starting the job again', async () => {
  const w = await freshWorkflow('sqlite');
  const lines: string[] = [];
  const [front, next] = [runnerOn(w, [], 0), runnerOn(w, lines)];
  try {
    const { id } = await submitted(w, front);
    // Held by a runner killed with -9 (its lease ran out a second ago), then cancelled on another server.
    assert.equal((await claimNext(w, 'dead/1/1/x', -1000))?.row.id, id);
    const asked = await front.cancel(root, id).catch((err: Error) => err);
    assert.ok(!(asked instanceof Error) && asked.state === 'running', 'nobody holds it to carry the cancel out yet');
    await next.start();
    const job = await until('the next claim to cancel it', async () => {
      const j = await getJob(w, root, id);
      return j.state === 'cancelled' ? j : undefined;
    });
    assert.equal(job.error, `cancelled by ${root.name}`);
    assert.doesNotMatch(lines.join('\n'), new RegExp(`job ${id}: started`), 'no worker was started for it');
  } finally {
    await Promise.all([front.stop(), next.stop()]);
    await w.dispose();
  }
});
