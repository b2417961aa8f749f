// The store's job queue (src/workflow/job-lease.ts) on every store: a claim takes the head of a
// model's queue (one job per model at a time, oldest first), claimers racing get different jobs, a
// lease that ran out is taken over (and the old holder's writes and renewals are refused from then
// on), and the claims table closes each claim where its lease ended.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { LetheError } from '../../src/util/errors.js';
import { checkLeaseTiming, claimNext, leaseGuard, renewLease, requestCancel, writeAsHolder } from '../../src/workflow/job-lease.js';
import { createJob } from '../../src/workflow/jobs.js';
import { closeStores, freshWorkflow, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';
import { runner } from './fixtures.js';
import { approved, setup } from './run-fixtures.js';

after(closeStores);

const MINUTE = 60_000;

/** Queued jobs, in this order, on the given model folders (created under the data folder). */
async function queued(w: TestWorkflow, models: string[]): Promise<string[]> {
  const s = setup(w.dataDir);
  const ids: string[] = [];
  for (const [k, m] of models.entries()) {
    if (m !== 'model') cpSync(s.model, join(w.dataDir, m), { recursive: true, force: true });
    const forget = join(w.dataDir, `forget-${k}.jsonl`);
    cpSync(s.forgetFile, forget);
    const id = await approved(w, forget);
    const body = { model: m, forgetFile: forget, method: 'GradAscent', policy: { checks: [{ metric: 'forget_Q_A_Prob', max: 1 }] } };
    ids.push((await createJob(w, runner, id, body, { dataDir: w.dataDir })).id);
  }
  return ids;
}

const claims = (w: TestWorkflow, id: string) =>
  w.store.db.selectFrom('job_claims').selectAll().where('job_id', '=', id).orderBy('attempt').execute();

for (const kind of STORE_KINDS) {
  describe(`the job queue on ${kind}`, storeOptions(kind), () => {
    test("a claim takes the oldest job whose model's earlier jobs are finished; none while they run", async () => {
      const w = await freshWorkflow(kind);
      try {
        const [a1, a2, b1] = await queued(w, ['model', 'model', 'model-b']);
        const first = await claimNext(w, 'r1', MINUTE);
        assert.deepEqual(
          [first?.row.id, first?.was, first?.row.state, first?.row.lease_holder, first?.row.attempts],
          [a1, 'queued', 'running', 'r1', 1],
        );
        assert.equal((await claimNext(w, 'r2', MINUTE))?.row.id, b1, "the model's second job waits: the other model's job is next");
        assert.equal(await claimNext(w, 'r3', MINUTE), null);
        await writeAsHolder(w, a1!, 'r1', { state: 'succeeded' }, 'finished');
        assert.equal((await claimNext(w, 'r3', MINUTE))?.row.id, a2, 'then the next job of the model');
        const [c] = await claims(w, a1!);
        assert.deepEqual([c?.holder, c?.end_reason], ['r1', 'finished']);
        assert.ok(c!.claimed_at <= c!.ended_at! && c!.ended_at! <= c!.lease_until, JSON.stringify(c));
      } finally {
        await w.dispose();
      }
    });

    test('claimers racing each get a different job, one per model', async () => {
      const w = await freshWorkflow(kind);
      try {
        const ids = await queued(w, ['model', 'model-b', 'model-c', 'model', 'model-b', 'model-c']);
        const got = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((k) => claimNext(w, `r${k}`, MINUTE)));
        const taken = got.filter((c) => c !== null).map((c) => c!.row.id);
        assert.deepEqual(taken.sort(), ids.slice(0, 3).sort());
      } finally {
        await w.dispose();
      }
    });

    test('a lease that ran out is taken over; from then on the old holder can neither write nor renew', async () => {
      const w = await freshWorkflow(kind);
      try {
        const [id] = await queued(w, ['model']);
        // A lease that ended a second ago (as a holder killed with -9 leaves it).
        assert.equal((await claimNext(w, 'dead', -1000))?.row.id, id);
        assert.equal(await renewLease(w, id!, 'dead', MINUTE), null, 'a lease that ran out is not renewed');
        const next = await claimNext(w, 'next', MINUTE);
        assert.deepEqual([next?.row.id, next?.was, next?.row.attempts], [id, 'running', 2]);
        await assert.rejects(
          writeAsHolder(w, id!, 'dead', { progress_json: '{}' }),
          (err: LetheError) => err.code === 'CONFLICT' && /no longer holds its lease/.test(err.message),
        );
        assert.equal(await renewLease(w, id!, 'dead', MINUTE), null);
        assert.deepEqual(await renewLease(w, id!, 'next', MINUTE), { cancelRequestedBy: null });
        assert.equal(await requestCancel(w, id!, 'root'), true);
        assert.deepEqual(await renewLease(w, id!, 'next', MINUTE), { cancelRequestedBy: 'root' }, 'the holder hears of a cancel');
        const [old, now] = await claims(w, id!);
        assert.deepEqual([old?.holder, old?.end_reason, now?.holder, now?.ended_at], ['dead', 'expired', 'next', null]);
        assert.ok(old!.ended_at! <= old!.lease_until && old!.ended_at! <= now!.claimed_at, JSON.stringify([old, now]));
      } finally {
        await w.dispose();
      }
    });
  });
}

test("a job's worker process guards its runner's lease: false once taken over, or once the store has not answered in time", async () => {
  const w = await freshWorkflow('sqlite');
  try {
    const [id] = await queued(w, ['model']);
    await claimNext(w, 'runner-1', MINUTE);
    const guard = leaseGuard(w, id!, 'runner-1', { leaseMs: 400, heartbeatMs: 1 });
    assert.equal(await guard(), true);
    await w.store.db.updateTable('jobs').set({ lease_holder: 'runner-2' }).where('id', '=', id!).execute();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await guard(), false, 'taken over');

    await w.store.db.updateTable('jobs').set({ lease_holder: 'runner-1' }).where('id', '=', id!).execute();
    const cutOff = leaseGuard(w, id!, 'runner-1', { leaseMs: 3000, heartbeatMs: 1 });
    assert.equal(await cutOff(), true);
    await w.store.close();
    assert.equal(await cutOff(), true, 'the store unreachable: still within the lease');
    await new Promise((r) => setTimeout(r, 3100));
    assert.equal(await cutOff(), false, 'not confirmed for the lease less two heartbeats');
  } finally {
    await w.dispose().catch(() => {});
  }
});

test('a lease shorter than four heartbeats is refused', () => {
  assert.throws(() => checkLeaseTiming({ leaseMs: 3000, heartbeatMs: 1000 }), /at least 4 heartbeats/);
  assert.deepEqual(checkLeaseTiming({ leaseMs: 4000, heartbeatMs: 1000 }), { leaseMs: 4000, heartbeatMs: 1000 });
});
