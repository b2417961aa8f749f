// Running an approved erasure request: unlearning (forget()) → verifying (evaluate() on the unlearned
// and the original model, checked against a release policy) → released (a new version in the model
// registry, a release certificate with the lineage's statuses, the forget file deleted) or failed. Every transition is recorded
// with its audit entry. Nothing here writes the subject or the forget rows anywhere but the run's
// private folder (per-item evaluation outputs), which goes when the request is final.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { contentFreeMessage, LetheError } from '../util/errors.js';
import { evaluate, type EvaluateOptions } from '../eval/evaluate.js';
import { writeResults, type EvalJson } from '../eval/eval-file.js';
import { forget, type ForgetOptions, type UnlearningRecord } from '../unlearn/forget.js';
import { modelFingerprint } from '../util/model-fingerprint.js';
import { readAuditHead } from './audit.js';
import { faithfulnessWarnings, lastMetaEvaluation } from './meta-evaluation.js';
import { formatValue, writeCertificate, type ReleaseCertificate } from './certificate.js';
import { confinePath, sha256ConfinedFile } from './confine.js';
import type { Workflow } from './context.js';
import { advanceRequest, getRequest, type RequestView } from './requests.js';
import { policyMetrics, verifyAgainstPolicy, type Policy, type PolicyVerdict } from './policy.js';
import { lineageCounts, lineageScope, type LineageScope } from './lineage-scope.js';
import { insertModelVersion, listModelVersions, withNextVersion, type ModelVersion } from './registry.js';
import { authorize, type Actor } from './roles.js';
import { aggregatesOnly, deleteForgetData, deleteRunOutputs, runPrivateDir } from './run-cleanup.js';

export interface RunRequestOptions {
  modelDir: string;
  forgetFile: string;
  retainFile?: string;
  /** The method (must match the approved scope's method, ignoring case). */
  method: string;
  args?: Record<string, unknown>;
  policy: Policy;
  /** Where the unlearned model (model/), the evaluations' aggregates (eval/, eval-original/), the
   *  certificate and the run's private folder (private/: per-item outputs, deleted when the request is final) go. */
  outDir: string;
  /** The registry name (default: the scope's model). */
  modelName?: string;
  /** forget() options beyond the data and the method (steps, lr, seed, device, …). */
  training?: Omit<ForgetOptions, 'modelDir' | 'forgetFile' | 'retainFile' | 'method' | 'args' | 'outDir' | 'report' | 'progress'>;
  /** evaluate() options beyond the models and the metrics (tokenizer, dataDir, holdout file, …). The
   *  cache is the run's own, in its private folder (never $LETHE_CACHE or a shared one, which would
   *  keep the forget set's items after the release); `cacheDir: null` turns it off. */
  evaluation?: Omit<EvaluateOptions, 'model' | 'modelDir' | 'metrics' | 'outDir' | 'files' | 'suite' | 'log' | 'cacheDir'> & {
    holdoutFile?: string;
    /** Questions about the subject with their true answers (a proposal's probes.jsonl): the forget
     *  metrics are measured on them instead of the forget file, so answer-probability checks
     *  (forget_Q_A_Prob) apply when the forget file is biographies or other text. */
    probesFile?: string;
    cacheDir?: null;
  };
  log?: (line: string) => void;
  /** Continue a request that its job already started (see runRequest). */
  resume?: boolean;
  /** Each training step and each phase change (awaited). */
  progress?: (p: RunProgress) => void | Promise<void>;
  /** Cancels the run (in-process callers; the job runner kills its worker instead): checked at each
   *  training step and between phases; the request then fails with the signal's reason (a string,
   *  e.g. "cancelled by bob"), as a cancelled job's does, and the run's private outputs are deleted. */
  signal?: AbortSignal;
}

export interface RunRequestResult {
  request: RequestView;
  verdict: PolicyVerdict | null;
  model?: ModelVersion;
  certificate?: { json: string; html: string; sha256: string };
  /** The models made from the released one and what the release means for each (also in the certificate). */
  lineage?: LineageScope;
  forgetFileDeleted: boolean;
}

/** A metric name as the evaluator registers it (variants like relearn_X, int8_X are computed with X). */
function baseMetrics(names: string[]): { metrics: string[]; quantize: ('int8' | 'int4')[] } {
  const quantize = new Set<'int8' | 'int4'>();
  const metrics = names.map((n) => {
    const m = /^(relearn|int8|int4)_(.+)$/.exec(n);
    if (!m) return n;
    if (m[1] === 'int8' || m[1] === 'int4') quantize.add(m[1]);
    return m[2]!;
  });
  return { metrics: [...new Set(metrics)], quantize: [...quantize] };
}

function lastRecord(modelDir: string): UnlearningRecord {
  const p = join(modelDir, 'unlearning.json');
  if (!existsSync(p)) throw new LetheError('INTERNAL', `release: ${p} is missing`);
  const r = (JSON.parse(readFileSync(p, 'utf8')) as { requests: UnlearningRecord[] }).requests.at(-1);
  if (!r) throw new LetheError('INTERNAL', `release: ${p} records no request`);
  return r;
}

const value = (e: EvalJson | null, m: string) => {
  const v = e?.[m] && m !== '_meta' ? (e[m] as { agg_value?: unknown }).agg_value : null;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
/** Where a run stands, for a job's progress stream. */
export interface RunProgress {
  phase: 'unlearning' | 'verifying' | 'releasing';
  step: number | null;
  totalSteps: number | null;
  loss: number | null;
  /** The checkpoint step the unlearning continued from (0: from the start). */
  resumedFrom: number | null;
}

/** Refuses a run whose method is not the approved scope's (no file is read: the server calls it when
 *  a job is submitted). */
export function checkScopeMethod(r: RequestView, method: string): NonNullable<RequestView['scope']> {
  if (!r.scope) throw new LetheError('CONFLICT', `request ${r.id}: has no scope`);
  if (method.toLowerCase() !== r.scope.method.toLowerCase()) {
    throw new LetheError('BAD_INPUT', `request ${r.id}: method '${method}' is not the approved scope's '${r.scope.method}'`);
  }
  return r.scope;
}

/** Refuses inputs that do not match the approved scope (the method, the forget file's sha256) before
 *  anything moves: runRequest calls it in the process that runs the request (a job's worker, or the
 *  local CLI), never the server. Every input is checked again first, without opening it (./confine.ts:
 *  a regular file or model folder, not the deployment's own files, under the size limit). */
export function checkRunInputs(
  w: Workflow,
  r: RequestView,
  o: Pick<RunRequestOptions, 'forgetFile' | 'retainFile' | 'modelDir' | 'method' | 'evaluation'>,
): NonNullable<RequestView['scope']> {
  const scope = checkScopeMethod(r, o.method);
  if (!existsSync(o.forgetFile)) throw new LetheError('NOT_FOUND', `request ${r.id}: the forget file ${o.forgetFile} does not exist`);
  const roots = { dataDir: w.dataDir, roots: w.roots };
  const where = `request ${r.id}`;
  const files = {
    forgetFile: o.forgetFile,
    retainFile: o.retainFile,
    holdoutFile: o.evaluation?.holdoutFile,
    probesFile: o.evaluation?.probesFile,
  };
  // resolve(): the local CLI's relative paths are relative to its working folder, not the data folder.
  const real: Record<string, string> = {};
  for (const [field, path] of Object.entries(files))
    if (path) real[field] = confinePath(resolve(path), roots, { where, field, kind: 'file', anywhere: true });
  confinePath(resolve(o.modelDir), roots, { where, field: 'modelDir', kind: 'model', anywhere: true });
  const forgetSha = sha256ConfinedFile(real.forgetFile!, { where, field: 'forgetFile' });
  if (forgetSha !== scope.forget.sha256) {
    throw new LetheError(
      'BAD_INPUT',
      `request ${r.id}: the forget file's sha256 ${forgetSha.slice(0, 12)}… is not the approved scope's ${scope.forget.sha256.slice(0, 12)}…`,
    );
  }
  return scope;
}

/** Takes an approved request through unlearning → verifying → released | failed. A failure of the
 *  unlearning or the evaluation, or a failed policy check, ends in `failed` (recorded, with the reason)
 *  and returns; inputs that do not match the approved scope are refused before anything moves.
 *  With `resume` (the job that owns the request, after a crash), a request already in 'unlearning'
 *  continues from the unlearning's last checkpoint (or keeps a finished unlearned model), and one in
 *  'verifying' evaluates again; states still only move forward. */
export async function runRequest(w: Workflow, actor: Actor, requestId: string, o: RunRequestOptions): Promise<RunRequestResult> {
  authorize(actor, 'request.run');
  const log = o.log ?? (() => {});
  const cancelled = () => (o.signal?.aborted ? (typeof o.signal.reason === 'string' ? o.signal.reason : 'cancelled') : null);
  const progress = async (p: RunProgress) => {
    if (cancelled()) throw new LetheError('CONFLICT', cancelled()!);
    await o.progress?.(p);
  };
  const r = await getRequest(w, actor, requestId);
  const startable = o.resume ? ['approved', 'unlearning', 'verifying'] : ['approved'];
  if (!startable.includes(r.state))
    throw new LetheError(
      'CONFLICT',
      `request ${requestId}: must be ${startable.map((s) => `'${s}'`).join(' or ')} to run, it is '${r.state}'`,
    );
  const scope = checkRunInputs(w, r, o);
  const modelName = o.modelName ?? scope.model;
  const modelOut = resolve(o.outDir, 'model');
  if (!o.resume && existsSync(modelOut)) throw new LetheError('CONFLICT', `request ${requestId}: ${modelOut} already exists`);
  mkdirSync(o.outDir, { recursive: true });

  // A failed request is final: its per-item outputs go; the user's forget file stays (it is theirs).
  // Reasons reach the audit log, the job row, logs and replies: content-free by construction.
  const fail = async (reason: string, details: Record<string, unknown> = {}): Promise<RunRequestResult> => {
    log(`request ${requestId}: failed: ${reason}`);
    const request = await advanceRequest(w, actor, requestId, 'failed', { reason: reason.slice(0, 2000) }, details);
    await deleteRunOutputs(w, actor, requestId, o.outDir, log);
    return { request, verdict: null, forgetFileDeleted: false };
  };
  const failure = (phase: string, err: unknown) => fail(cancelled() ?? `${phase} failed: ${contentFreeMessage(err)}`);

  // Unlearning (skipped when a resumed run finds it finished: unlearning.json is written last, atomically)
  if (r.state === 'approved')
    await advanceRequest(
      w,
      actor,
      requestId,
      'unlearning',
      { reason: `unlearning with ${o.method}` },
      { method: o.method, args: o.args ?? {} },
    );
  let record: UnlearningRecord;
  if (r.state === 'verifying' || (o.resume && existsSync(join(modelOut, 'unlearning.json')))) {
    record = lastRecord(modelOut);
    log(`request ${requestId}: the unlearned model is already complete; not unlearning again`);
  } else {
    try {
      const res = await forget({
        ...o.training,
        modelDir: o.modelDir,
        forgetFile: o.forgetFile,
        retainFile: o.retainFile,
        method: o.method,
        args: o.args,
        outDir: modelOut,
        report: log,
        // The job owns modelOut (a fresh run was refused above if it existed): a resumed job continues its checkpoint or starts over.
        resume: o.resume || o.training?.resume,
        overwrite: true,
        progress: (p) =>
          progress({ phase: 'unlearning', step: p.step, totalSteps: p.totalSteps, loss: p.loss, resumedFrom: p.resumedFrom }),
      });
      record = lastRecord(res.outDir);
    } catch (err) {
      return failure('unlearning', err);
    }
  }

  // Verifying
  if (r.state !== 'verifying')
    await advanceRequest(
      w,
      actor,
      requestId,
      'verifying',
      { reason: `unlearned in ${record.seconds.toFixed(1)} s; evaluating against the policy` },
      { steps: record.training.steps ?? null },
    );
  if (cancelled()) return fail(cancelled()!);
  await o.progress?.({ phase: 'verifying', step: null, totalSteps: null, loss: null, resumedFrom: null });
  const names = policyMetrics(o.policy);
  const { metrics, quantize } = baseMetrics(names);
  const { holdoutFile, probesFile, cacheDir, ...evalOpts } = o.evaluation ?? {};
  const files = {
    forget: probesFile ?? o.forgetFile,
    ...(o.retainFile ? { retain: o.retainFile } : {}),
    ...(holdoutFile ? { holdout: holdoutFile } : {}),
  };
  // Per-item outputs and their cache in the private folder; the run folder keeps the aggregates.
  const priv = runPrivateDir(o.outDir);
  const common = {
    ...evalOpts,
    files,
    metrics,
    ...(quantize.length ? { quantize } : {}),
    cacheDir: cacheDir === null ? null : join(priv, '.lethe-cache'),
    log,
  };
  let unlearned: EvalJson;
  let original: EvalJson;
  try {
    const evaluated: Record<string, EvalJson> = {};
    for (const [name, modelDir] of [
      ['eval-original', o.modelDir],
      ['eval', modelOut],
    ] as const) {
      if (cancelled()) throw new LetheError('CONFLICT', cancelled()!);
      // The original is the target model of both evaluations: metrics that compare with it
      // (forget_probe_Prob reads the original's probe) are available to policies.
      evaluated[name] = (
        await evaluate({ ...common, modelDir, targetModelDir: o.modelDir, outDir: join(priv, name), overwrite: true })
      ).eval;
      const kept = aggregatesOnly(evaluated[name]);
      writeResults(join(o.outDir, name), kept.eval, kept.summary);
    }
    if (cancelled()) throw new LetheError('CONFLICT', cancelled()!);
    [original, unlearned] = [evaluated['eval-original']!, evaluated.eval!];
  } catch (err) {
    return failure('evaluation', err);
  }
  const verdict = verifyAgainstPolicy(unlearned, original, o.policy);
  const failed = verdict.checks.filter((c) => !c.passed);
  if (failed.length) {
    const why = failed.map((c) => `${c.metric} = ${formatValue(c.value)} (${c.reason ?? `needs ${c.threshold.rule}`})`).join('; ');
    const res = await fail(`${failed.length} of ${verdict.checks.length} policy checks failed: ${why}`, {
      checks: verdict.checks.map((c) => ({ metric: c.metric, value: c.value, passed: c.passed })),
    });
    return { ...res, verdict };
  }

  // Released: certificate, registry row and the transition in one go
  if (cancelled()) return fail(cancelled()!);
  await o.progress?.({ phase: 'releasing', step: null, totalSteps: null, loss: null, resumedFrom: null });
  // The models made from this one, searched while the forget file is still here.
  let lineage: LineageScope;
  try {
    lineage = await lineageScope(w, { model: modelName, modelDir: o.modelDir, forgetFile: o.forgetFile });
  } catch (err) {
    return failure('lineage', err);
  }
  const folder = modelFingerprint(modelOut);
  // Another release of the same name may take the version between numbering and recording (the
  // registry refuses it): withNextVersion numbers, certifies and records again.
  const { version, certificate, request } = await withNextVersion(w.store.db, modelName, async (version) => {
    const current = await getRequest(w, actor, requestId);
    const allMetrics = [...new Set(Object.keys(unlearned).filter((k) => k !== '_meta'))].sort();
    const cert: ReleaseCertificate = {
      kind: 'lethe-release-certificate',
      version: 1,
      request: { id: r.id, category: r.category, state: 'released' },
      model: {
        name: modelName,
        version,
        path: modelOut,
        contentSha256: folder.sha256,
        files: folder.files,
        originalContentSha256: modelFingerprint(o.modelDir).sha256,
      },
      unlearning: { method: record.method, args: record.args, rows: record.rows, training: record.training, seconds: record.seconds },
      data: { forgetSha256: record.data.forget, retainSha256: record.data.retain, forgetRows: scope.forget.rows },
      policy: {
        name: o.policy.name ?? null,
        passed: verdict.passed,
        checks: verdict.checks,
        warnings: faithfulnessWarnings(o.policy, lastMetaEvaluation(w.dataDir)),
      },
      metrics: Object.fromEntries(allMetrics.map((m) => [m, { value: value(unlearned, m), original: value(original, m) }])),
      approvals: current.history.map((t) => ({ from: t.from, to: t.to, actor: t.actor, at: t.at, reason: t.reason })),
      lineage,
      auditHead: await readAuditHead(w.store.db),
      keyId: w.deployment.keyId,
      issuedAt: w.now().toISOString(),
    };
    const certificate = writeCertificate(o.outDir, cert);
    const request = await advanceRequest(
      w,
      actor,
      requestId,
      'released',
      { reason: `released ${modelName} v${version}: ${verdict.checks.length} policy checks passed` },
      {
        model: { name: modelName, version, contentSha256: folder.sha256 },
        certificateSha256: certificate.sha256,
        checks: verdict.checks.length,
        lineage: { model: lineage.model, ...lineageCounts(lineage) },
      },
      (trx, _r, at) =>
        insertModelVersion(trx, {
          name: modelName,
          version,
          path: modelOut,
          contentSha256: folder.sha256,
          files: folder.files,
          requestId,
          certificateSha256: certificate.sha256,
          releasedBy: actor.name,
          releasedAt: at,
        }),
    );
    return { version, certificate, request };
  });
  log(`request ${requestId}: released ${modelName} v${version} (${folder.sha256.slice(0, 12)}…), certificate ${certificate.json}`);

  const forgetFileDeleted = await deleteForgetData(w, actor, requestId, scope, log);
  await deleteRunOutputs(w, actor, requestId, o.outDir, log);
  const [model] = (await listModelVersions(w, actor, modelName)).filter((m) => m.version === version);
  return { request, verdict, model, certificate, lineage, forgetFileDeleted };
}
