// The job runner: runs jobs off the server's event loop, each in a worker process (./job-worker.ts)
// that opens the same store and calls runRequest. One queue per model (a model's jobs run one at a
// time, in order); different models run side by side up to `concurrency` workers (default 1).
// Progress arrives over IPC and is written to the job row (at most once a second, and at each phase)
// and emitted as a 'job' event for the server-sent stream.
//
// Cancel: a queued job is dropped and its request stays approved (it can be run again); a running
// job's worker is killed and its request moves to failed ("cancelled by X") — unlearning that was
// interrupted proves nothing, so a cancelled request is final; file a new one to try again. Both
// are audited ('job.cancel').
//
// Crash recovery: start() finds jobs left 'running' by a server that died (kill -9: its worker dies
// with it, see the worker's watchdog), audits 'job.resumed' with the request's state and the
// checkpoint step, and queues them first; their worker resumes the request (forget() from the last
// checkpoint; a finished unlearning or a 'verifying' request goes on to verification).
// Ownership: the runner kills only workers it started, or, holding the data folder's lock (so the
// server that started them is gone), a process whose command line is this data folder's worker for
// that very job. A job whose worker still runs under someone else is left alone, never resumed twice.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../util/errors.js';
import type { Workflow } from './context.js';
import type { DataLock } from './data-lock.js';
import { createJob, getJob, jobRows, type JobPaths, type JobProgress, type JobView } from './jobs.js';
import { deleteForgetData, deleteRunOutputs } from './run-cleanup.js';
import { advanceRequest, auditRequestEvent, getRequest } from './requests.js';
import { authorize, type Actor } from './roles.js';
import { PARENT_PID_ENV } from './worker-watchdog.js';

export interface JobRunnerOptions extends JobPaths {
  /** Workers at once, across models (default 1). */
  concurrency?: number;
  /** Server log lines (never a subject). */
  log?: (line: string) => void;
  /** The worker script (default ./job-worker.js beside this file). */
  workerPath?: string;
  /** The data folder's lock, held by this process (lethe serve): only then may start() kill a
   *  previous server's orphaned worker; without it, a job whose worker still runs is left alone. */
  lock?: DataLock;
}

/** IPC from a worker. */
export type WorkerMessage =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'done'; requestState: string; reason: string }
  | { type: 'error'; message: string; code?: string };

interface Running {
  child: ChildProcess;
  model: string;
  requestId: string;
  view: JobView;
  cancelledBy?: Actor;
  outcome?: WorkerMessage;
  exited: Promise<void>;
  lastWrite: number;
  lastPhase: string;
  /** The job row's writes, in order (a late progress write must not land after the final one). */
  writes: Promise<unknown>;
}

const WORKER = fileURLToPath(new URL('./job-worker.js', import.meta.url));
const PROGRESS_WRITE_MS = 1000;

export class JobRunner extends EventEmitter {
  private readonly queues = new Map<string, string[]>();
  private readonly running = new Map<string, Running>();
  /** Jobs taken off a queue and not yet finished (id → model), claimed synchronously so that two
   *  schedule() calls never start two jobs of one model, nor more than `concurrency`. */
  private readonly active = new Map<string, string>();
  /** Launches in progress: a cancel waits for one before deciding how to cancel. */
  private readonly launching = new Map<string, Promise<void>>();
  private readonly concurrency: number;
  private readonly log: (line: string) => void;
  private stopping = false;

  constructor(
    private readonly w: Workflow,
    private readonly o: JobRunnerOptions,
  ) {
    super();
    this.concurrency = Math.max(1, o.concurrency ?? 1);
    this.log = o.log ?? (() => {});
  }

  get paths(): JobPaths {
    return { dataDir: this.o.dataDir, roots: this.o.roots ?? this.w.roots, policiesDir: this.o.policiesDir };
  }

  /** Rebuilds the queues from the store and resumes jobs that were running when the server died. */
  async start(): Promise<void> {
    for (const row of await jobRows.unfinished(this.w)) {
      if (row.state === 'running' && !(await this.recover(row.id, row.request_id, row.worker_pid))) continue;
      this.enqueue(row.model, row.id, row.state === 'running');
    }
    this.schedule();
  }

  async submit(actor: Actor, requestId: string, body: unknown): Promise<JobView> {
    if (this.w.inProcessOnly)
      throw new LetheError(
        'CONFLICT',
        'jobs run in a worker process, which cannot open an in-process PGlite store; serve from SQLite or postgres://',
      );
    const job = await createJob(this.w, actor, requestId, body, this.paths);
    this.enqueue(job.model, job.id, false);
    this.emit('job', job);
    this.schedule();
    return job;
  }

  async cancel(actor: Actor, id: string): Promise<JobView> {
    authorize(actor, 'request.run');
    await this.launching.get(id);
    const job = await getJob(this.w, actor, id);
    if (job.state === 'queued') {
      const q = this.queues.get(job.model);
      const at = q?.indexOf(id) ?? -1;
      if (at >= 0) q!.splice(at, 1);
      await auditRequestEvent(this.w, actor, job.requestId, 'job.cancel', { job: id, was: 'queued' });
      return this.finish(id, 'cancelled', `cancelled by ${actor.name} before it started`);
    }
    const run = this.running.get(id);
    if (job.state !== 'running' || !run)
      throw new LetheError('CONFLICT', `job ${id}: is '${job.state}', only a queued or running job can be cancelled`);
    run.cancelledBy = actor;
    run.child.kill('SIGKILL');
    await run.exited;
    return getJob(this.w, actor, id);
  }

  /** Stops the workers without changing any job: a later start() resumes them. */
  async stop(): Promise<void> {
    this.stopping = true;
    const all = [...this.running.values()];
    for (const r of all) r.child.kill('SIGKILL');
    await Promise.all(all.map((r) => r.exited));
  }

  private enqueue(model: string, id: string, first: boolean): void {
    const q = this.queues.get(model) ?? [];
    if (first) q.unshift(id);
    else q.push(id);
    this.queues.set(model, q);
  }

  private schedule(): void {
    if (this.stopping) return;
    const busy = new Set(this.active.values());
    for (const [model, q] of this.queues) {
      if (this.active.size >= this.concurrency) return;
      if (busy.has(model) || !q.length) continue;
      const id = q.shift()!;
      busy.add(model);
      this.active.set(id, model);
      const launched = this.launch(id, model)
        .catch((err: Error) => {
          this.active.delete(id);
          this.log(`job ${id}: could not start: ${err.message}`);
          this.schedule();
        })
        .finally(() => this.launching.delete(id));
      this.launching.set(id, launched);
    }
  }

  /** Requeues a job left running by a server that died; false when its worker runs on, owned by
   *  another live process (it is not ours to resume or kill). */
  private async recover(id: string, requestId: string, pid: number | null): Promise<boolean> {
    if (pid && isWorkerOf(pid, id, this.o.dataDir)) {
      if (!this.o.lock) {
        this.log(`job ${id}: its worker ${pid} is still running under another process; left alone`);
        return false;
      }
      // We hold the lock, so the server that started it is gone: an orphan that must not write on.
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      await exitOf(pid);
    }
    const r = await getRequest(this.w, SYSTEM_RUNNER, requestId);
    const options = await jobRows.options(this.w, id);
    const ckpt = join(options.outDir, 'model', 'checkpoint', 'trainer_state.json');
    const checkpointStep = existsSync(ckpt) ? (JSON.parse(readFileSync(ckpt, 'utf8')) as { step: number }).step : null;
    await auditRequestEvent(this.w, SYSTEM_RUNNER, requestId, 'job.resumed', { job: id, requestState: r.state, checkpointStep });
    this.log(
      `job ${id}: was running when the server stopped; resuming (request ${r.state}${checkpointStep !== null ? `, checkpoint at step ${checkpointStep}` : ''})`,
    );
    await jobRows.update(this.w, id, { state: 'queued', worker_pid: null });
    return true;
  }

  private async launch(id: string, model: string): Promise<void> {
    const before = await getJob(this.w, SYSTEM_RUNNER, id);
    if (before.state !== 'queued') {
      // cancelled while it waited to start
      this.active.delete(id);
      return this.schedule();
    }
    const r = await getRequest(this.w, SYSTEM_RUNNER, before.requestId);
    if (['released', 'failed', 'rejected'].includes(r.state)) {
      // The worker finished the request but the server died before recording the job's end (and,
      // between the release and the deletion of the forget file, before that too).
      // Either step of it may be missing: the forget file's deletion, or the provenance index's purge.
      const audited = async (action: string) =>
        !!(await this.w.store.db
          .selectFrom('audit')
          .select('seq')
          .where('request_id', '=', r.id)
          .where('action', '=', action)
          .executeTakeFirst());
      const pending =
        r.state === 'released' &&
        r.scope &&
        ((r.scope.forget.path && !(await audited('request.forget_data_deleted'))) ||
          (r.scope.proposal && !(await audited('request.provenance_purged'))));
      if (pending)
        await deleteForgetData(
          { ...this.w, roots: this.paths.roots ?? [] },
          { name: before.createdBy, role: 'admin' },
          r.id,
          r.scope!,
          this.log,
        );
      // And the run's per-item outputs, if the crash came before their deletion (a no-op otherwise).
      await deleteRunOutputs(this.w, { name: before.createdBy, role: 'admin' }, r.id, (await jobRows.options(this.w, id)).outDir, this.log);
      await this.finish(id, r.state === 'released' ? 'succeeded' : 'failed', r.state === 'released' ? null : r.history.at(-1)!.reason);
      this.active.delete(id);
      return this.schedule();
    }
    const child = fork(this.o.workerPath ?? WORKER, [id, '--data', realpathSync(this.o.dataDir)], {
      env: {
        ...process.env,
        LETHE_JOB_DB: this.w.dbUrl ?? '',
        LETHE_JOB_ROOTS: JSON.stringify(this.paths.roots ?? []),
        LETHE_JOB_KEY_FILE: this.w.deployment.keyFile ?? '',
        [PARENT_PID_ENV]: String(process.pid),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exited!: () => void;
    const started = jobRows.update(this.w, id, {
      state: 'running',
      worker_pid: child.pid ?? null,
      attempts: before.attempts + 1,
      started_at: before.startedAt ?? this.w.now().toISOString(),
    });
    const run: Running = {
      child,
      model,
      requestId: before.requestId,
      view: { ...before, state: 'running' },
      lastWrite: 0,
      lastPhase: '',
      exited: new Promise((res) => (exited = res)),
      writes: started.then((job) => {
        run.view = job;
        this.log(`job ${id}: started (attempt ${job.attempts}, worker ${child.pid})`);
        this.emit('job', job);
      }),
    };
    this.running.set(id, run);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') this.onProgress(id, run, m.progress);
      else run.outcome = m;
    });
    // 'close', not 'exit': by then every IPC message the worker sent has arrived.
    child.once('close', (code, signal) => {
      run.writes
        .then(() => this.onExit(id, run, code, signal))
        .catch((err: Error) => this.log(`job ${id}: ${err.message}`))
        .finally(() => {
          this.running.delete(id);
          this.active.delete(id);
          exited();
          this.schedule();
        });
    });
    await run.writes;
  }

  /** Emits every step; writes the row at each phase change and at most once a second. */
  private onProgress(id: string, run: Running, p: JobProgress): void {
    const now = Date.now();
    const write = p.phase !== run.lastPhase || now - run.lastWrite >= PROGRESS_WRITE_MS;
    if (write) {
      run.lastWrite = now;
      run.lastPhase = p.phase;
    }
    run.writes = run.writes
      .then(async () => {
        run.view = write ? await jobRows.update(this.w, id, { progress: p }) : { ...run.view, progress: p };
        this.emit('job', run.view);
      })
      .catch((err: Error) => this.log(`job ${id}: progress not recorded: ${err.message}`));
  }

  private async onExit(id: string, run: Running, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (run.cancelledBy) {
      const who = run.cancelledBy;
      await auditRequestEvent(this.w, who, run.requestId, 'job.cancel', { job: id, was: 'running' });
      const r = await getRequest(this.w, SYSTEM_RUNNER, run.requestId);
      if (r.state === 'unlearning' || r.state === 'verifying')
        await advanceRequest(this.w, who, run.requestId, 'failed', { reason: `cancelled by ${who.name}` }, { job: id });
      // The request is final: the per-item outputs the worker left go too.
      await deleteRunOutputs(this.w, who, run.requestId, (await jobRows.options(this.w, id)).outDir, this.log);
      await this.finish(id, 'cancelled', `cancelled by ${who.name}`);
      return;
    }
    if (this.stopping && !run.outcome) return; // left 'running' on purpose: the next start() resumes it
    const out = run.outcome;
    if (out?.type === 'done') {
      await this.finish(id, out.requestState === 'released' ? 'succeeded' : 'failed', out.requestState === 'released' ? null : out.reason);
      return;
    }
    const why =
      out?.type === 'error'
        ? `the worker stopped: ${out.message}`
        : `the worker process died (${signal ? `signal ${signal}` : `exit code ${code}`})`;
    this.log(`job ${id}: ${why}`);
    // A request the worker left half-run would otherwise stay in 'unlearning' for good.
    const r = await getRequest(this.w, SYSTEM_RUNNER, run.requestId);
    if (r.state === 'unlearning' || r.state === 'verifying')
      await advanceRequest(this.w, SYSTEM_RUNNER, run.requestId, 'failed', { reason: why.slice(0, 2000) }, { job: id });
    await deleteRunOutputs(this.w, SYSTEM_RUNNER, run.requestId, (await jobRows.options(this.w, id)).outDir, this.log);
    await this.finish(id, 'failed', why);
  }

  private async finish(id: string, state: 'succeeded' | 'failed' | 'cancelled', error: string | null): Promise<JobView> {
    const prev = await getJob(this.w, SYSTEM_RUNNER, id);
    const job = await jobRows.update(this.w, id, {
      state,
      error: error?.slice(0, 2000) ?? null,
      finished_at: this.w.now().toISOString(),
      worker_pid: null,
      progress: { ...prev.progress, phase: 'done' },
    });
    this.log(`job ${id}: ${state}${error ? `: ${error}` : ''}`);
    this.emit('job', job);
    return job;
  }
}

/** The runner acts as the local operator: it records transitions it must make itself (a dead worker). */
const SYSTEM_RUNNER: Actor = { name: 'job-runner', role: 'admin' };

/** True when `pid` is a live Lethe worker for job `id` of this data folder: its command line is
 *  `node …/job-worker.js ID --data REALPATH` (Linux /proc; elsewhere nothing is recognised). */
export function isWorkerOf(pid: number, id: string, dataDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const at = argv.findIndex((a) => /job-worker\.[cm]?js$/.test(a));
    return at > 0 && argv[at + 1] === id && argv[at + 2] === '--data' && argv[at + 3] === realpathSync(dataDir) && running(pid);
  } catch {
    return false;
  }
}

/** Alive and not a zombie (an orphan killed here may wait a while to be reaped by init). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (up to 5 s) for a killed process to be gone. */
async function exitOf(pid: number): Promise<void> {
  for (let k = 0; k < 100 && running(pid); k++) await new Promise((r) => setTimeout(r, 50));
}
