// Jobs: the runs of approved requests (unlearning + verification), queued per model and executed by
// a worker process (./job-runner.ts). This file holds the records: what a job is, how a submission is
// checked (paths confined to the allowed roots, the approved method, one active job per request), and the
// rows' reads and writes. Job rows and their audit entries hold no subject data: ids, paths, the
// method, its arguments, the policy, counts.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LetheError } from '../util/errors.js';
import { getMethod, resolveArgs } from '../unlearn/registry.js';
import { appendAudit, lockForWrite } from './audit.js';
import { jobRowDigest } from './audit-rows.js';
import type { Workflow } from './context.js';
import { parseInput } from './inputs.js';
import { invalidArgument } from '../util/errors.js';
import { Policy, readPolicyFile } from './policy.js';
import { confinePath, POLICIES_DIR, type PathKind, type Roots } from './confine.js';
import { checkScopeMethod } from './release.js';
import { getRequest } from './requests.js';
import { authorize, type Actor } from './roles.js';
import type { JobsTable } from './store/schema.js';
import { writeAsHolder } from './job-lease.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
export type JobPhase = 'queued' | 'unlearning' | 'verifying' | 'releasing' | 'done';

export interface JobProgress {
  phase: JobPhase;
  step: number | null;
  totalSteps: number | null;
  loss: number | null;
  resumedFrom: number | null;
}

export interface JobView {
  id: string;
  requestId: string;
  model: string;
  state: JobState;
  progress: JobProgress;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  attempts: number;
}

const path = z.string().trim().min(1).max(1000);
const policyName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/, 'a policy file name under the policies folder (letters, digits, _ . -)');

/** The body of POST /v1/requests/:id/run. Paths resolve inside the server's data folder (or its other roots). */
export const RunJobInput = z.strictObject({
  /** The model folder to unlearn from. */
  model: path,
  forgetFile: path,
  retainFile: path.optional(),
  holdoutFile: path.optional(),
  method: z.string().trim().min(1).max(100),
  /** The method's arguments (`lethe methods`). */
  args: z.record(z.string(), z.unknown()).optional(),
  training: z
    .strictObject({
      steps: z.number().int().min(1).max(1_000_000).optional(),
      epochs: z.number().gt(0).max(10_000).optional(),
      lr: z.number().gt(0).max(10).optional(),
      checkpointEvery: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
  /** A release policy (as `parsePolicy` takes it) or the name of a policy file in the policies folder. */
  policy: z.union([policyName, z.record(z.string(), z.unknown())]),
});
export type RunJobInput = z.infer<typeof RunJobInput>;

/** What a worker needs to run the job (stored as the job's options). */
export interface JobOptions {
  modelDir: string;
  forgetFile: string;
  retainFile?: string;
  holdoutFile?: string;
  method: string;
  args: Record<string, unknown>;
  training: { steps?: number; epochs?: number; lr?: number; checkpointEvery?: number };
  policy: Policy;
  /** The job's folder: model/, eval/, eval-original/, certificate.json|html, job.log. */
  outDir: string;
}

export interface JobPaths extends Roots {
  /** Where named policies lie (default DATA/policies). */
  policiesDir?: string;
}

/** A named policy file is small JSON. */
const MAX_POLICY_BYTES = 1024 * 1024;

function fieldError(field: string, expected: string, actual: unknown): LetheError {
  return invalidArgument('run', field, expected, actual, { field });
}

/** An input path of a run body, confined (./confine.ts): its real path, or a LetheError naming the field. */
export function resolveInputPath(field: string, value: string, p: JobPaths, kind: PathKind = 'file'): string {
  return confinePath(value, p, { where: 'run', field, kind });
}

function resolvePolicy(value: RunJobInput['policy'], p: JobPaths): Policy {
  if (typeof value !== 'string') return parseInput('run', z.strictObject({ policy: Policy }), { policy: value }).policy;
  const dir = p.policiesDir ?? join(p.dataDir, 'policies');
  const file = [join(dir, value), join(dir, `${value}.json`)].find(existsSync);
  if (!file) throw fieldError('policy', `a policy object or the name of a file in the policies folder`, value);
  // Read here, in the server process: confined first (a regular file in the policies folder, not a link to the store).
  return readPolicyFile(
    confinePath(
      file,
      { dataDir: p.dataDir, roots: [dir] },
      { where: 'run', field: 'policy', kind: 'file', allow: POLICIES_DIR, maxBytes: MAX_POLICY_BYTES },
    ),
  );
}

const newJobId = () => `job_${randomBytes(6).toString('hex')}`;
const QUEUED: JobProgress = { phase: 'queued', step: null, totalSteps: null, loss: null, resumedFrom: null };

export function jobView(r: JobsTable): JobView {
  return {
    id: r.id,
    requestId: r.request_id,
    model: r.model,
    state: r.state as JobState,
    progress: JSON.parse(r.progress_json) as JobProgress,
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    attempts: Number(r.attempts),
  };
}

/** Checks a submission and records the job (queued), with its audit entry, in one transaction.
 *  Refused: a request that is not approved, inputs that do not match its scope, a second active job. */
export async function createJob(w: Workflow, actor: Actor, requestId: string, body: unknown, p: JobPaths): Promise<JobView> {
  authorize(actor, 'request.run');
  const input = parseInput('run', RunJobInput, body);
  const r = await getRequest(w, actor, requestId);
  if (r.state !== 'approved') throw new LetheError('CONFLICT', `request ${requestId}: must be 'approved' to run, it is '${r.state}'`);
  const id = newJobId();
  const options: JobOptions = {
    modelDir: resolveInputPath('model', input.model, p, 'model'),
    forgetFile: resolveInputPath('forgetFile', input.forgetFile, p),
    ...(input.retainFile ? { retainFile: resolveInputPath('retainFile', input.retainFile, p) } : {}),
    ...(input.holdoutFile ? { holdoutFile: resolveInputPath('holdoutFile', input.holdoutFile, p) } : {}),
    method: input.method,
    args: input.args ?? {},
    training: input.training ?? {},
    policy: resolvePolicy(input.policy, p),
    outDir: join(p.dataDir, 'jobs', id),
  };
  // Paths only (stat, realpath): the server process never opens a user's file. The worker checks the
  // forget file's sha256 against the approved scope before it reads anything (runRequest).
  checkScopeMethod(r, options.method);
  if (options.training.steps !== undefined && options.training.epochs !== undefined)
    throw fieldError('training', "'steps' or 'epochs', not both", options.training);
  try {
    resolveArgs(getMethod(options.method), options.args, 'run');
  } catch (err) {
    // Refused now with the field named, rather than failing the request once its worker starts.
    if (!(err instanceof LetheError)) throw err;
    throw new LetheError('BAD_INPUT', err.message, { field: err.code === 'NOT_FOUND' ? 'method' : 'args' });
  }
  const at = w.now().toISOString();
  await w.store.db.transaction().execute(async (trx) => {
    await lockForWrite(trx, w.store.dialect);
    const active = await trx
      .selectFrom('jobs')
      .select(['id', 'state'])
      .where('request_id', '=', requestId)
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (active) throw new LetheError('CONFLICT', `request ${requestId}: job ${active.id} is already ${active.state}`);
    const row = {
      id,
      request_id: requestId,
      model: options.modelDir,
      options_json: JSON.stringify(options),
      state: 'queued',
      progress_json: JSON.stringify(QUEUED),
      created_by: actor.name,
      created_at: at,
      started_at: null,
      finished_at: null,
      error: null,
      attempts: 0,
      worker_pid: null,
      lease_holder: null,
      lease_expires_at: null,
      cancel_requested_by: null,
    };
    await trx.insertInto('jobs').values(row).execute();
    await appendAudit(
      trx,
      w,
      {
        actor: actor.name,
        action: 'job.submit',
        requestId,
        // `row` commits to the job's fixed fields (its options: paths, method, policy), checked by verifyAudit().
        details: {
          job: id,
          method: options.method,
          policy: options.policy.name ?? null,
          checks: options.policy.checks.length,
          training: options.training,
          row: jobRowDigest(row),
        },
      },
      at,
    );
  });
  return getJob(w, actor, id);
}

export async function getJob(w: Workflow, actor: Actor, id: string): Promise<JobView> {
  authorize(actor, 'request.read');
  const r = await w.store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw new LetheError('NOT_FOUND', `job ${id}: no such job`);
  return jobView(r);
}

export async function listJobs(w: Workflow, actor: Actor, o: { state?: JobState; limit?: number } = {}): Promise<JobView[]> {
  authorize(actor, 'request.read');
  let q = w.store.db
    .selectFrom('jobs')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(Math.min(o.limit ?? 100, 1000));
  if (o.state) q = q.where('state', '=', o.state);
  return (await q.execute()).map(jobView);
}

/** The runner's reads and writes (the runner is the local operator; no role check). */
export const jobRows = {
  async options(w: Workflow, id: string): Promise<JobOptions> {
    const r = await w.store.db.selectFrom('jobs').select('options_json').where('id', '=', id).executeTakeFirstOrThrow();
    return JSON.parse(r.options_json) as JobOptions;
  },
  /** Jobs left 'running', oldest first: a restarted runner looks for holders that are gone. */
  async running(w: Workflow): Promise<JobsTable[]> {
    return w.store.db.selectFrom('jobs').selectAll().where('state', '=', 'running').orderBy('created_at').orderBy('id').execute();
  },
  async view(w: Workflow, id: string): Promise<JobView> {
    return jobView(await w.store.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
  },
  /** The holder's write (refused with CONFLICT once it has lost the lease; see ./job-lease.ts). */
  async update(
    w: Workflow,
    id: string,
    holder: string,
    patch: Partial<Omit<JobsTable, 'id' | 'progress_json'>> & { progress?: JobProgress },
    end?: 'finished' | 'handed back',
  ): Promise<JobView> {
    const { progress, ...rest } = patch;
    await writeAsHolder(w, id, holder, { ...rest, ...(progress ? { progress_json: JSON.stringify(progress) } : {}) }, end);
    return jobRows.view(w, id);
  },
  /** Ends a job nobody holds (queued); null when it was claimed meanwhile. */
  async endQueued(w: Workflow, id: string, patch: Partial<Omit<JobsTable, 'id'>>): Promise<JobView | null> {
    const r = await w.store.db.updateTable('jobs').set(patch).where('id', '=', id).where('state', '=', 'queued').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1 ? jobRows.view(w, id) : null;
  },
};
