// The job runner: runs jobs off the server's event loop, each in a worker process (./job-worker.ts)
// that opens the same store and calls runRequest. The queue is the store's (./job-lease.ts): a runner
// claims the next free job with a lease, so any number of runners (`lethe serve` with its own workers,
// `lethe worker` on other hosts) share it; a model's jobs still run one at a time, in order, and one
// runner runs up to `concurrency` jobs (default 1; 0: none, it only submits). A started runner looks
// for new jobs every `pollMs`; its own submissions are claimed at once.
// Progress arrives over IPC and is written to the job row (at most once a second, and at each phase)
// and emitted as a 'job' event for the server-sent stream (other servers follow the row).
//
// Leases: the runner renews each of its jobs' leases every heartbeat, and writes the job's progress
// and outcome only as its holder. A runner that finds its lease taken over, or could not renew it in
// time, kills its worker before the lease can end (so two workers never run one job at once) and
// writes nothing more. A runner that dies (kill -9; its workers die with it, see the watchdog) leaves
// its jobs 'running' until their leases expire; then the next claim resumes them (runRequest from the
// last checkpoint in the job's folder, audited 'job.resumed'). stop() (SIGTERM) hands its jobs back
// to the queue at once.
//
// Cancel: a queued job is dropped and its request stays approved (it can be run again); a running
// job's worker is killed by its holder and its request moves to failed ("cancelled by X") —
// unlearning that was interrupted proves nothing, so a cancelled request is final; file a new one to
// try again. A runner that does not hold the job asks its holder through the row. Both are audited
// ('job.cancel').
//
// Ownership: the runner kills only workers it started, or, holding the data folder's lock (so the
// server that started them is gone), a process whose command line is this data folder's worker for
// a job whose holder is gone from this host. A job whose holder lives is left to its lease.
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LetheError } from '../util/errors.js';
import type { Workflow } from './context.js';
import type { DataLock } from './data-lock.js';
import {
  checkLeaseTiming,
  claimNext,
  DEFAULT_LEASE,
  expireLease,
  holderGoneHere,
  newHolderId,
  renewLease,
  requestCancel,
  type Claim,
  type LeaseTiming,
} from './job-lease.js';
import { createJob, FINAL_JOB_STATES, getJob, jobRows, jobView, type JobPaths, type JobProgress, type JobView } from './jobs.js';
import { deleteForgetData, deleteRunOutputs } from './run-cleanup.js';
import { advanceRequest, auditRequestEvent, getRequest } from './requests.js';
import { authorize, type Actor } from './roles.js';
import { LEASE_ENV, PARENT_PID_ENV } from './worker-watchdog.js';

export interface JobRunnerOptions extends JobPaths {
  /** Jobs this runner runs at once, across models (default 1; 0: it runs none, workers elsewhere do). */
  concurrency?: number;
  /** Server log lines (never a subject). */
  log?: (line: string) => void;
  /** The worker script (default ./job-worker.js beside this file). */
  workerPath?: string;
  /** The data folder's lock, held by this process (lethe serve): only then may start() kill a
   *  previous server's orphaned worker; without it, a job whose worker still runs is left alone. */
  lock?: DataLock;
  /** Lease and heartbeat (default 30 s and 5 s). */
  lease?: LeaseTiming;
  /** How often a started runner looks for jobs submitted elsewhere, and a server's event stream
   *  reads a job run elsewhere (default 2 s). */
  pollMs?: number;
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
  /** When the last successful renewal was sent (performance.now()): the lease lasts at least leaseMs from it. */
  renewedAt: number;
  renewing: boolean;
  /** The lease is gone: the worker is killed and nothing more is written. */
  lost: boolean;
}

const WORKER = fileURLToPath(new URL('./job-worker.js', import.meta.url));
const PROGRESS_WRITE_MS = 1000;

export class JobRunner extends EventEmitter {
  /** This runner's identity in the jobs it holds. */
  readonly holder = newHolderId();
  readonly pollMs: number;
  private readonly timing: LeaseTiming;
  private readonly running = new Map<string, Running>();
  private readonly concurrency: number;
  private readonly log: (line: string) => void;
  private stopping = false;
  private claiming: Promise<void> | null = null;
  private claimAgain = false;
  private poller: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly w: Workflow,
    private readonly o: JobRunnerOptions,
  ) {
    super();
    this.concurrency = Math.max(0, o.concurrency ?? 1);
    this.log = o.log ?? (() => {});
    this.timing = checkLeaseTiming(o.lease ?? DEFAULT_LEASE);
    this.pollMs = o.pollMs ?? 2000;
  }

  get paths(): JobPaths {
    return { dataDir: this.o.dataDir, roots: this.o.roots ?? this.w.roots, policiesDir: this.o.policiesDir };
  }

  /** True while this runner holds the job and runs its worker. */
  holds(id: string): boolean {
    return this.running.has(id);
  }

  /** Makes jobs whose holder is gone from this host claimable now, then claims jobs as they come. */
  async start(): Promise<void> {
    for (const row of await jobRows.running(this.w)) await this.recover(row.id, row.lease_holder, row.worker_pid);
    if (this.concurrency > 0 && !this.stopping) this.poller = setInterval(() => this.schedule(), this.pollMs);
    this.schedule();
  }

  async submit(actor: Actor, requestId: string, body: unknown): Promise<JobView> {
    if (this.w.inProcessOnly)
      throw new LetheError(
        'CONFLICT',
        'jobs run in a worker process, which cannot open an in-process PGlite store; serve from SQLite or postgres://',
      );
    const job = await createJob(this.w, actor, requestId, body, this.paths);
    this.emit('job', job);
    this.schedule();
    return job;
  }

  async cancel(actor: Actor, id: string): Promise<JobView> {
    authorize(actor, 'request.run');
    const job = await getJob(this.w, actor, id);
    if (job.state === 'queued') {
      const done = await jobRows.endQueued(this.w, id, {
        state: 'cancelled',
        error: `cancelled by ${actor.name} before it started`,
        finished_at: this.w.now().toISOString(),
        progress_json: JSON.stringify({ ...job.progress, phase: 'done' }),
      });
      if (done) {
        await auditRequestEvent(this.w, actor, job.requestId, 'job.cancel', { job: id, was: 'queued' });
        this.log(`job ${id}: cancelled: ${done.error}`);
        this.emit('job', done);
        return done;
      }
      // claimed meanwhile: cancel it running
    } else if (job.state !== 'running')
      throw new LetheError('CONFLICT', `job ${id}: is '${job.state}', only a queued or running job can be cancelled`);
    const run = this.running.get(id);
    if (run) {
      run.cancelledBy = actor;
      run.child.kill('SIGKILL');
      await run.exited;
      return getJob(this.w, actor, id);
    }
    // Held by another runner (or being started here): only its holder may stop its worker.
    if (!(await requestCancel(this.w, id, actor.name))) return this.cancel(actor, id);
    // A live holder sees it within a heartbeat; one that cannot renew stops its worker within the
    // lease. After that the reply is the job as it is (the next claim carries the cancel out).
    const end = Date.now() + this.timing.leaseMs + 4 * this.timing.heartbeatMs;
    for (;;) {
      const now = await getJob(this.w, actor, id);
      if (FINAL_JOB_STATES.includes(now.state) || Date.now() > end) return now;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops claiming and hands this runner's jobs back to the queue (their workers are stopped; the next
   *  claim resumes them from their checkpoints). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.poller) clearInterval(this.poller);
    await this.claiming;
    const all = [...this.running.values()];
    for (const r of all) r.child.kill('SIGKILL');
    await Promise.all(all.map((r) => r.exited));
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private schedule(): void {
    if (this.stopping || this.concurrency === 0) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = (async () => {
      do {
        this.claimAgain = false;
        while (!this.stopping && this.running.size < this.concurrency) {
          const claim = await claimNext(this.w, this.holder, this.timing.leaseMs);
          if (!claim) break;
          await this.launch(claim, performance.now()).catch((err: Error) =>
            this.log(`job ${claim.row.id}: could not start: ${err.message}`),
          );
        }
      } while (this.claimAgain && !this.stopping);
    })()
      .catch((err: Error) => this.log(`job queue: could not claim: ${err.message}`))
      .finally(() => (this.claiming = null));
  }

  /** A job left 'running' whose holder is gone from this host (or a row from before leases): made
   *  claimable now instead of at its lease's end. Its worker, if it still runs, is killed only by a
   *  runner holding the data folder's lock; otherwise the job is left alone. */
  private async recover(id: string, holder: string | null, pid: number | null): Promise<void> {
    if (holder && !holderGoneHere(holder)) return; // alive, or on another host: its lease decides
    if (pid && isWorkerOf(pid, id, this.o.dataDir)) {
      if (!this.o.lock) {
        this.log(`job ${id}: its worker ${pid} is still running under another process; left alone`);
        return;
      }
      // We hold the lock, so the server that started it is gone: an orphan that must not write on.
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      await exitOf(pid);
    }
    await expireLease(this.w, id, holder);
  }

  /** Audits and logs a resumption: a job claimed again after a runner stopped, died or lost it. */
  private async auditResume(id: string, requestId: string, requestState: string): Promise<void> {
    const options = await jobRows.options(this.w, id);
    const ckpt = join(options.outDir, 'model', 'checkpoint', 'trainer_state.json');
    const checkpointStep = existsSync(ckpt) ? (JSON.parse(readFileSync(ckpt, 'utf8')) as { step: number }).step : null;
    await auditRequestEvent(this.w, SYSTEM_RUNNER, requestId, 'job.resumed', { job: id, requestState, checkpointStep });
    this.log(
      `job ${id}: was running when the server stopped; resuming (request ${requestState}${checkpointStep !== null ? `, checkpoint at step ${checkpointStep}` : ''})`,
    );
  }

  private async launch(claim: Claim, claimedAt: number): Promise<void> {
    const id = claim.row.id;
    const before = jobView(claim.row);
    const r = await getRequest(this.w, SYSTEM_RUNNER, before.requestId);
    // Taken over from a runner that died or lost it, or handed back by one that stopped.
    if (claim.was === 'running' || before.attempts > 1) await this.auditResume(id, before.requestId, r.state);
    if (['released', 'failed', 'rejected'].includes(r.state)) {
      // The worker finished the request but its runner died before recording the job's end (and,
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
      return;
    }
    // A cancel asked while its previous holder had died: carried out now, without starting it again.
    if (claim.row.cancel_requested_by)
      return this.cancelRunning(id, before.requestId, { name: claim.row.cancel_requested_by, role: 'admin' });
    const child = fork(this.o.workerPath ?? WORKER, [id, '--data', realpathSync(this.o.dataDir)], {
      env: {
        ...process.env,
        LETHE_JOB_DB: this.w.dbUrl ?? '',
        LETHE_JOB_ROOTS: JSON.stringify(this.paths.roots ?? []),
        LETHE_JOB_KEY_FILE: this.w.deployment.keyFile ?? '',
        [PARENT_PID_ENV]: String(process.pid),
        [LEASE_ENV]: JSON.stringify({ holder: this.holder, ...this.timing }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let exited!: () => void;
    const started = jobRows.update(this.w, id, this.holder, {
      worker_pid: child.pid ?? null,
      started_at: before.startedAt ?? this.w.now().toISOString(),
    });
    const run: Running = {
      child,
      model: before.model,
      requestId: before.requestId,
      view: before,
      lastWrite: 0,
      lastPhase: '',
      exited: new Promise((res) => (exited = res)),
      renewedAt: claimedAt,
      renewing: false,
      lost: false,
      writes: started.then(
        (job) => {
          run.view = job;
          this.log(`job ${id}: started (attempt ${job.attempts}, worker ${child.pid})`);
          this.emit('job', job);
        },
        (err: Error) => this.lose(id, run, err.message),
      ),
    };
    this.running.set(id, run);
    this.heartbeat ??= setInterval(() => this.renewAll(), this.timing.heartbeatMs).unref();
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
          exited();
          this.schedule();
        });
    });
    await run.writes;
  }

  /** Renews the lease of every job this runner runs; a job whose lease is gone, or was not renewed in
   *  time (the store unreachable), has its worker stopped before anyone else may claim it. */
  private renewAll(): void {
    const { leaseMs, heartbeatMs } = this.timing;
    for (const [id, run] of this.running) {
      if (run.lost) continue;
      if (performance.now() - run.renewedAt > leaseMs - 2 * heartbeatMs) {
        this.lose(id, run, `its lease was not renewed for ${Math.round(performance.now() - run.renewedAt)} ms`);
        continue;
      }
      if (run.renewing) continue;
      run.renewing = true;
      const sent = performance.now();
      renewLease(this.w, id, this.holder, leaseMs)
        .then((held) => {
          if (!held) return this.lose(id, run, 'another runner holds it now');
          run.renewedAt = sent;
          if (held.cancelRequestedBy && !run.cancelledBy) {
            run.cancelledBy = { name: held.cancelRequestedBy, role: 'admin' };
            run.child.kill('SIGKILL');
          }
        })
        .catch((err: Error) => this.log(`job ${id}: lease not renewed: ${err.message}`))
        .finally(() => (run.renewing = false));
    }
  }

  /** This runner no longer holds the job: stop its worker and write nothing more. */
  private lose(id: string, run: Running, why: string): void {
    if (run.lost) return;
    run.lost = true;
    this.log(`job ${id}: lease lost (${why}); its worker ${run.child.pid} is stopped`);
    run.child.kill('SIGKILL');
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
        if (run.lost) return;
        run.view = write ? await jobRows.update(this.w, id, this.holder, { progress: p }) : { ...run.view, progress: p };
        this.emit('job', run.view);
      })
      .catch((err: Error) =>
        err instanceof LetheError && err.code === 'CONFLICT'
          ? this.lose(id, run, err.message)
          : this.log(`job ${id}: progress not recorded: ${err.message}`),
      );
  }

  private async onExit(id: string, run: Running, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // Not ours any more: whoever holds it now resumes it.
    if (run.lost || !(await renewLease(this.w, id, this.holder, this.timing.leaseMs))) return;
    if (run.cancelledBy) return this.cancelRunning(id, run.requestId, run.cancelledBy);
    if (this.stopping && !run.outcome) {
      await jobRows.update(this.w, id, this.holder, { state: 'queued', worker_pid: null }, 'handed back');
      this.log(`job ${id}: handed back to the queue (this runner stops)`);
      return;
    }
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

  /** Ends a running job this runner holds as cancelled: its request fails (an interrupted run proves nothing). */
  private async cancelRunning(id: string, requestId: string, who: Actor): Promise<void> {
    await auditRequestEvent(this.w, who, requestId, 'job.cancel', { job: id, was: 'running' });
    const r = await getRequest(this.w, SYSTEM_RUNNER, requestId);
    if (r.state === 'unlearning' || r.state === 'verifying')
      await advanceRequest(this.w, who, requestId, 'failed', { reason: `cancelled by ${who.name}` }, { job: id });
    // The request is final: the per-item outputs the worker left go too.
    await deleteRunOutputs(this.w, who, requestId, (await jobRows.options(this.w, id)).outDir, this.log);
    await this.finish(id, 'cancelled', `cancelled by ${who.name}`);
  }

  /** Records the end of a job this runner holds, and ends its lease. */
  private async finish(id: string, state: 'succeeded' | 'failed' | 'cancelled', error: string | null): Promise<JobView> {
    const prev = await getJob(this.w, SYSTEM_RUNNER, id);
    const job = await jobRows.update(
      this.w,
      id,
      this.holder,
      {
        state,
        error: error?.slice(0, 2000) ?? null,
        finished_at: this.w.now().toISOString(),
        worker_pid: null,
        progress: { ...prev.progress, phase: 'done' },
      },
      'finished',
    );
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
