// A job's worker process (forked by ./job-runner.ts with the job id): opens the same store, runs the
// job's request with runRequest (resuming it when a crash left it half done) and reports progress
// and the outcome over IPC. Its log lines go to the job folder's job.log (they never hold a subject).
// Watchdog: when the server dies (even by kill -9) the IPC channel closes or the parent pid changes,
// and the worker exits at once, so no orphan keeps writing; the restarted server resumes the job.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkflow } from './context.js';
import { jobRows, type JobProgress } from './jobs.js';
import type { WorkerMessage } from './job-runner.js';
import { runRequest } from './release.js';

const ORPHANED = 70;
const parent = process.ppid;
const orphaned = () => !process.connected || process.ppid !== parent;
process.on('disconnect', () => process.exit(ORPHANED));
setInterval(() => { if (orphaned()) process.exit(ORPHANED); }, 250).unref();

const send = (m: WorkerMessage) => new Promise<void>((res) => (process.connected ? process.send!(m, () => res()) : res()));

async function main(jobId: string): Promise<void> {
  const w = await openWorkflow({ dataDir: process.env.LETHE_JOB_DATA!, db: process.env.LETHE_JOB_DB || undefined, keyFile: process.env.LETHE_JOB_KEY_FILE || undefined });
  try {
    const row = await w.store.db.selectFrom('jobs').select(['request_id', 'created_by']).where('id', '=', jobId).executeTakeFirstOrThrow();
    const o = await jobRows.options(w, jobId);
    mkdirSync(o.outDir, { recursive: true });
    const logFile = join(o.outDir, 'job.log');
    const log = (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    log(`job ${jobId}: worker ${process.pid} starts request ${row.request_id}`);
    let resumedLogged = false;
    const res = await runRequest(w, { name: row.created_by, role: 'admin' }, row.request_id, {
      modelDir: o.modelDir, forgetFile: o.forgetFile, retainFile: o.retainFile, method: o.method, args: o.args, policy: o.policy, outDir: o.outDir,
      training: o.training, evaluation: { ...(o.holdoutFile ? { holdoutFile: o.holdoutFile } : {}) },
      resume: true, log,
      progress: async (p) => {
        if (orphaned()) process.exit(ORPHANED);
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
    const e = err as Error & { code?: string };
    await send({ type: 'error', message: e.message, code: e.code });
  } finally {
    await w.close();
  }
}

const jobId = process.argv[2];
if (!jobId || !process.send) {
  console.error('job-worker: run by the job runner (fork with a job id and an IPC channel)');
  process.exit(2);
}
await main(jobId);
process.exit(0);
