// A job's worker process (forked by ./job-runner.ts as `job-worker.js JOB_ID --data DIR`): opens the
// same store, runs the job's request with runRequest (resuming it when a crash left it half done) and
// reports progress and the outcome over IPC. Its log lines go to the job folder's job.log (they never
// hold a subject). The data folder is on the command line so that a restarted server can tell its
// own data folder's workers from anything else (see the runner's isWorkerOf).
// Watchdog (./worker-watchdog.ts) first, before the model stack loads (seconds of blocked main
// thread): when the server dies, even by kill -9, the worker exits at once and the restarted server
// resumes the job. And between training steps it checks that its runner's lease on the job still
// runs (a frozen or cut-off runner cannot stop it): once it has ended, the worker exits. It runs at a
// lower priority than the server (./worker-priority.ts).
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { contentFreeMessage } from '../util/errors.js';
import type { WorkerMessage } from './job-runner.js';
import type { LeaseTiming } from './job-lease.js';
import type { JobProgress } from './jobs.js';
import { LEASE_ENV, watchParent } from './worker-watchdog.js';
import { lowerPriority, workerNice } from './worker-priority.js';

const [jobId, flag, dataDir] = process.argv.slice(2);
if (!jobId || flag !== '--data' || !dataDir || !process.send) {
  console.error('job-worker: run by the job runner (fork with JOB_ID --data DIR and an IPC channel)');
  process.exit(2);
}
const ORPHANED = 70;
const LEASE_LOST = 71;
const orphaned = watchParent(ORPHANED);
// Before libtorch starts its threads: they inherit the lowered priority. The server stays responsive.
lowerPriority(workerNice());

const send = (m: WorkerMessage) => new Promise<void>((res) => (process.connected ? process.send!(m, () => res()) : res()));

async function main(jobId: string, dataDir: string): Promise<void> {
  // Loaded only now: the watchdog runs while libtorch loads.
  const [{ openWorkflow }, { jobRows }, { runRequest }, { leaseGuard }] = await Promise.all([
    import('./context.js'),
    import('./jobs.js'),
    import('./release.js'),
    import('./job-lease.js'),
  ]);
  const w = await openWorkflow({
    dataDir,
    db: process.env.LETHE_JOB_DB || undefined,
    roots: JSON.parse(process.env.LETHE_JOB_ROOTS || '[]') as string[],
    keyFile: process.env.LETHE_JOB_KEY_FILE || undefined,
  });
  try {
    const row = await w.store.db.selectFrom('jobs').select(['request_id', 'created_by']).where('id', '=', jobId).executeTakeFirstOrThrow();
    const o = await jobRows.options(w, jobId);
    mkdirSync(o.outDir, { recursive: true });
    const logFile = join(o.outDir, 'job.log');
    const log = (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    const lease = JSON.parse(process.env[LEASE_ENV] || 'null') as (LeaseTiming & { holder: string }) | null;
    const held = lease ? leaseGuard(w, jobId, lease.holder, lease) : async () => true;
    const stopIfLost = async () => {
      if (await held()) return;
      log(`job ${jobId}: worker ${process.pid} stops: its runner's lease on the job has ended`);
      process.exit(LEASE_LOST);
    };
    await stopIfLost();
    log(`job ${jobId}: worker ${process.pid} starts request ${row.request_id}`);
    let resumedLogged = false;
    const res = await runRequest(w, { name: row.created_by, role: 'admin' }, row.request_id, {
      modelDir: o.modelDir,
      forgetFile: o.forgetFile,
      retainFile: o.retainFile,
      method: o.method,
      args: o.args,
      policy: o.policy,
      outDir: o.outDir,
      training: o.training,
      evaluation: { ...(o.holdoutFile ? { holdoutFile: o.holdoutFile } : {}) },
      resume: true,
      log,
      progress: async (p) => {
        if (orphaned()) process.exit(ORPHANED);
        await stopIfLost();
        if (p.resumedFrom && !resumedLogged) {
          resumedLogged = true;
          log(`job ${jobId}: unlearning resumed from the checkpoint at step ${p.resumedFrom}`);
        }
        await send({ type: 'progress', progress: p satisfies JobProgress });
        // Let the event loop run between training steps: IPC flushes and the disconnect watchdog fires.
        await new Promise((r) => setImmediate(r));
      },
    });
    log(`job ${jobId}: request ${res.request.state}`);
    await send({ type: 'done', requestState: res.request.state, reason: res.request.history.at(-1)!.reason });
  } catch (err) {
    // The message becomes the request's failure reason and the job's error: content-free.
    await send({ type: 'error', message: contentFreeMessage(err), code: (err as { code?: string }).code });
  } finally {
    await w.close();
  }
}

await main(jobId, dataDir);
process.exit(0);
