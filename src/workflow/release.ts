// Running an approved erasure request: unlearning (forget()) → verifying (evaluate() on the unlearned
// and the original model, checked against a release policy) → released (a new version in the model
// registry, a release certificate, the forget file deleted) or failed. Every transition is recorded
// with its audit entry. Nothing here writes the subject or the forget rows anywhere but the run's
// private folder (per-item evaluation outputs), which goes when the request is final.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { contentFreeMessage, LetheError } from '../util/errors.js';
import { evaluate, writeResults, type EvalEntry, type EvalJson, type EvalMeta, type EvaluateOptions } from '../eval/evaluate.js';
import { forget, sha256File, type ForgetOptions, type UnlearningRecord } from '../unlearn/forget.js';
import { readAuditHead } from './audit.js';
import { confinePath, sha256ConfinedFile } from './confine.js';
import { PROVENANCE_FILE, purgeRecords } from './provenance.js';
import type { Db, Workflow } from './context.js';
import { advanceRequest, auditRequestEvent, getRequest, type RequestView } from './requests.js';
import { fmt, policyMetrics, verifyAgainstPolicy, type CheckResult, type Policy, type PolicyVerdict } from './policy.js';
import { authorize, type Actor } from './roles.js';

// ---------------------------------------------------------------------------------------------
// The model registry

export interface FolderHash { sha256: string; files: Record<string, string> }

/** sha256 of every file under a folder (relative paths, '/'-separated), and one sha256 over the
 *  sorted list in sha256sum's format ("<hex>  <path>\n" per file). */
export function hashModelFolder(dir: string): FolderHash {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) files[relative(dir, p).split('\\').join('/')] = sha256File(p);
    }
  };
  walk(dir);
  const paths = Object.keys(files).sort();
  if (!paths.length) throw new LetheError('BAD_INPUT', `registry: ${dir} holds no files`);
  const listing = paths.map((p) => `${files[p]}  ${p}\n`).join('');
  return { sha256: createHash('sha256').update(listing).digest('hex'), files: Object.fromEntries(paths.map((p) => [p, files[p]!])) };
}

export interface ModelVersion {
  name: string;
  version: number;
  path: string;
  contentSha256: string;
  files: Record<string, string>;
  requestId: string | null;
  certificateSha256: string | null;
  releasedBy: string;
  releasedAt: string;
}

async function nextVersion(db: Db, name: string): Promise<number> {
  const r = await db.selectFrom('models').select((eb) => eb.fn.max('version').as('v')).where('name', '=', name).executeTakeFirst();
  return Number(r?.v ?? 0) + 1;
}

export async function listModelVersions(w: Workflow, actor: Actor, name?: string): Promise<ModelVersion[]> {
  authorize(actor, 'request.read');
  let q = w.store.db.selectFrom('models').selectAll().orderBy('name').orderBy('version');
  if (name) q = q.where('name', '=', name);
  return (await q.execute()).map((r) => ({
    name: r.name, version: Number(r.version), path: r.path, contentSha256: r.content_sha256, files: JSON.parse(r.files_json) as Record<string, string>,
    requestId: r.request_id, certificateSha256: r.certificate_sha256, releasedBy: r.released_by, releasedAt: r.released_at,
  }));
}

// ---------------------------------------------------------------------------------------------
// The release certificate

export interface ReleaseCertificate {
  kind: 'lethe-release-certificate';
  version: 1;
  request: { id: string; category: string; state: 'released' };
  model: { name: string; version: number; path: string; contentSha256: string; files: Record<string, string>; originalContentSha256: string };
  unlearning: { method: string; args: Record<string, unknown>; rows: { forget: number; retain: number }; training: Record<string, unknown>; seconds: number };
  data: { forgetSha256: string[]; retainSha256: string | null; forgetRows: number };
  policy: { name: string | null; passed: boolean; checks: CheckResult[] };
  /** Every metric the evaluation computed: the unlearned model's value and the original's. */
  metrics: Record<string, { value: number | null; original: number | null }>;
  approvals: { from: string | null; to: string; actor: string; at: string; reason: string }[];
  /** The signed audit head when the certificate was made (the release entry follows it). */
  auditHead: { count: number; hash: string; at: string; signature: string } | null;
  keyId: string;
  issuedAt: string;
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (x: number | null) => (x === null ? '—' : fmt(x));

/** A small self-contained HTML page (no scripts, no external resources) of a certificate. */
export function certificateHtml(c: ReleaseCertificate): string {
  const row = (cells: unknown[], tag = 'td') => `<tr>${cells.map((x) => `<${tag}>${esc(x)}</${tag}>`).join('')}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Release certificate ${esc(c.request.id)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}code{font-size:12px}.pass{color:#060}.fail{color:#a00}</style>
</head><body>
<h1>Release certificate</h1>
<p>Request <code>${esc(c.request.id)}</code> (${esc(c.request.category)}) released <b>${esc(c.model.name)}</b> version ${esc(c.model.version)} on ${esc(c.issuedAt)}.</p>
<h2>Model</h2><table>
${row(['content sha256', c.model.contentSha256])}${row(['original content sha256', c.model.originalContentSha256])}${row(['path', c.model.path])}
</table>
<h2>Unlearning</h2><table>
${row(['method', c.unlearning.method])}${row(['arguments', JSON.stringify(c.unlearning.args)])}${row(['rows', `forget ${c.unlearning.rows.forget}, retain ${c.unlearning.rows.retain}`])}
${row(['forget data sha256', c.data.forgetSha256.join(', ')])}${row(['retain data sha256', c.data.retainSha256 ?? '—'])}
</table>
<h2>Policy${c.policy.name ? `: ${esc(c.policy.name)}` : ''} — <span class="${c.policy.passed ? 'pass' : 'fail'}">${c.policy.passed ? 'passed' : 'failed'}</span></h2><table>
${row(['metric', 'value', 'threshold', 'result'], 'th')}
${c.policy.checks.map((k) => row([k.metric, num(k.value), k.threshold.rule, k.passed ? 'pass' : `fail${k.reason ? `: ${k.reason}` : ''}`])).join('\n')}
</table>
<h2>Metrics</h2><table>
${row(['metric', 'unlearned', 'original'], 'th')}
${Object.entries(c.metrics).map(([m, v]) => row([m, num(v.value), num(v.original)])).join('\n')}
</table>
<h2>Approvals</h2><table>
${row(['at', 'from', 'to', 'by', 'reason'], 'th')}
${c.approvals.map((t) => row([t.at, t.from ?? '—', t.to, t.actor, t.reason])).join('\n')}
</table>
<h2>Audit</h2><table>
${row(['signing key id', c.keyId])}${row(['head count', c.auditHead?.count ?? 0])}${row(['head hash', c.auditHead?.hash ?? '—'])}${row(['head signature', c.auditHead?.signature ?? '—'])}
</table>
</body></html>
`;
}

// ---------------------------------------------------------------------------------------------
// Running a request

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
  evaluation?: Omit<EvaluateOptions, 'model' | 'modelDir' | 'metrics' | 'outDir' | 'files' | 'suite' | 'log' | 'cacheDir'> & { holdoutFile?: string; cacheDir?: null };
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

/** What became of one recorded file after a release (audited: hashes and counts, never the path,
 *  which may name the subject, nor the content). */
interface FileDeletion { sha256: string; rows: number; deleted: boolean; alreadyAbsent: boolean; kept?: string }

/** Deletes `path` if it is still a confined regular file (./confine.ts: inside the data folder or an
 *  allowed root, not the deployment's own, its real path the recorded one) with the approved sha256. */
function deleteRecordedFile(w: Workflow, path: string, expected: { sha256: string; rows: number }): FileDeletion {
  const base = { sha256: expected.sha256, rows: expected.rows };
  if (!lstatSync(path, { throwIfNoEntry: false })) return { ...base, deleted: true, alreadyAbsent: true };
  let real: string;
  try {
    real = confinePath(path, { dataDir: w.dataDir, roots: w.roots }, { where: 'release', field: 'forget.path', kind: 'file' });
  } catch {
    return { ...base, deleted: false, alreadyAbsent: false, kept: 'not a regular file inside the data folder or an allowed root' };
  }
  if (real !== resolve(path)) return { ...base, deleted: false, alreadyAbsent: false, kept: 'the recorded path now leads elsewhere (a symbolic link)' };
  if (sha256ConfinedFile(real, { where: 'release', field: 'forget.path' }) !== expected.sha256) return { ...base, deleted: false, alreadyAbsent: false, kept: 'the file no longer has the approved sha256' };
  rmSync(real, { force: true });
  return { ...base, deleted: !existsSync(real), alreadyAbsent: false };
}

/** After a release: the recorded forget file (checked against the approved sha256), the reviewed
 *  proposal's probes beside it (questions about the subject; only when the proposal recorded them,
 *  checked against their sha256), each confined to the data roots and audited with its sha256 in one
 *  'request.forget_data_deleted' entry; then the subject's records in the deployment's provenance
 *  index (`lethe index`). A file that is not confined or does not match is kept, and the entry says
 *  why. Idempotent, so a restarted job may finish it. Returns whether the forget file is gone. */
export async function deleteForgetData(w: Workflow, actor: Actor, requestId: string, scope: NonNullable<RequestView['scope']>, log: (line: string) => void = () => {}): Promise<boolean> {
  let deleted = false;
  const recorded = scope.forget.path;
  if (recorded) {
    const forget = deleteRecordedFile(w, recorded, scope.forget);
    const probes = scope.proposal ? deleteRecordedFile(w, join(dirname(recorded), 'probes.jsonl'), scope.proposal.files.probes) : null;
    deleted = forget.deleted;
    await auditRequestEvent(w, actor, requestId, 'request.forget_data_deleted', { ...forget, ...(probes ? { probes } : {}) });
    log(`request ${requestId}: forget file ${forget.alreadyAbsent ? 'was already absent' : forget.deleted ? 'deleted' : `kept: ${forget.kept}`}${probes ? `; probes ${probes.alreadyAbsent ? 'already absent' : probes.deleted ? 'deleted' : `kept: ${probes.kept}`}` : ''}`);
  }
  const index = join(w.deployment.dataDir, PROVENANCE_FILE);
  if (scope.proposal && existsSync(index)) {
    const purged = await purgeRecords(index, scope.proposal.recordHashes.forget);
    await auditRequestEvent(w, actor, requestId, 'request.provenance_purged', { records: purged, proposed: scope.proposal.recordHashes.forget.length });
    log(`request ${requestId}: ${purged} records removed from the provenance index`);
  }
  return deleted;
}

// ---------------------------------------------------------------------------------------------
// A run's private folder: per-item evaluation outputs

/** Under a run's folder: the evaluations as evaluate() writes them (EVAL.json with each item's input,
 *  reference and generation, per-item values keyed to rows) and their result cache. They are the
 *  subject's data as much as the forget file is: kept only while the request runs, deleted (and
 *  audited) when it is released, fails or is cancelled. Outside it the run keeps aggregates only. */
export const RUN_PRIVATE_DIR = 'private';

export function runPrivateDir(outDir: string): string {
  return join(outDir, RUN_PRIVATE_DIR);
}

/** What a run folder keeps of an evaluation: each metric's aggregate (and why it is missing), and the
 *  metadata without the other models' entries (which carry per-item values) and without the item
 *  sets' descriptions (a file's path, and a user may name a forget file after its subject). */
export function aggregatesOnly(e: EvalJson): { eval: EvalJson; summary: Record<string, number | null> } {
  const out: EvalJson = {};
  const summary: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === '_meta') continue;
    const entry = v as EvalEntry;
    out[k] = { agg_value: entry.agg_value, ...(entry.reason ? { reason: entry.reason } : {}) };
    summary[k] = entry.agg_value;
  }
  const meta = e._meta as EvalMeta | undefined;
  if (meta) {
    const sets = Object.fromEntries(Object.entries(meta.sets).map(([name, set]) => [name, { ...set, description: `the run's ${name} set` }]));
    out._meta = { ...meta, sets, retain_results: {}, target_results: {} };
  }
  return { eval: out, summary };
}

/** Deletes a run's private folder (see RUN_PRIVATE_DIR) once its request is final, and audits what
 *  went: the number of files and their sha256s (never names or contents). Nothing to do (and nothing
 *  audited) when there is none, so a restarted job may call it again. Returns the files deleted. */
export async function deleteRunOutputs(w: Workflow, actor: Actor, requestId: string, outDir: string, log: (line: string) => void = () => {}): Promise<number> {
  const dir = runPrivateDir(outDir);
  if (!existsSync(dir)) return 0;
  const hashes: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) hashes.push(sha256File(p));
    }
  };
  walk(dir);
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) throw new LetheError('INTERNAL', `request ${requestId}: the run's private outputs in ${dir} could not be deleted`);
  await auditRequestEvent(w, actor, requestId, 'request.run_outputs_deleted', { files: hashes.length, sha256: hashes.sort() });
  log(`request ${requestId}: the run's per-item evaluation outputs deleted (${hashes.length} files)`);
  return hashes.length;
}

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
export function checkRunInputs(w: Workflow, r: RequestView, o: Pick<RunRequestOptions, 'forgetFile' | 'retainFile' | 'modelDir' | 'method' | 'evaluation'>): NonNullable<RequestView['scope']> {
  const scope = checkScopeMethod(r, o.method);
  if (!existsSync(o.forgetFile)) throw new LetheError('NOT_FOUND', `request ${r.id}: the forget file ${o.forgetFile} does not exist`);
  const roots = { dataDir: w.dataDir, roots: w.roots };
  const where = `request ${r.id}`;
  const files = { forgetFile: o.forgetFile, retainFile: o.retainFile, holdoutFile: o.evaluation?.holdoutFile };
  // resolve(): the local CLI's relative paths are relative to its working folder, not the data folder.
  const real: Record<string, string> = {};
  for (const [field, path] of Object.entries(files)) if (path) real[field] = confinePath(resolve(path), roots, { where, field, kind: 'file', anywhere: true });
  confinePath(resolve(o.modelDir), roots, { where, field: 'modelDir', kind: 'model', anywhere: true });
  const forgetSha = sha256ConfinedFile(real.forgetFile!, { where, field: 'forgetFile' });
  if (forgetSha !== scope.forget.sha256) {
    throw new LetheError('BAD_INPUT', `request ${r.id}: the forget file's sha256 ${forgetSha.slice(0, 12)}… is not the approved scope's ${scope.forget.sha256.slice(0, 12)}…`);
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
  if (!startable.includes(r.state)) throw new LetheError('CONFLICT', `request ${requestId}: must be ${startable.map((s) => `'${s}'`).join(' or ')} to run, it is '${r.state}'`);
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
  if (r.state === 'approved') await advanceRequest(w, actor, requestId, 'unlearning', { reason: `unlearning with ${o.method}` }, { method: o.method, args: o.args ?? {} });
  let record: UnlearningRecord;
  if (r.state === 'verifying' || (o.resume && existsSync(join(modelOut, 'unlearning.json')))) {
    record = lastRecord(modelOut);
    log(`request ${requestId}: the unlearned model is already complete; not unlearning again`);
  } else {
    try {
      const res = await forget({
        ...o.training, modelDir: o.modelDir, forgetFile: o.forgetFile, retainFile: o.retainFile, method: o.method, args: o.args, outDir: modelOut, report: log,
        // The job owns modelOut (a fresh run was refused above if it existed): a resumed job continues its checkpoint or starts over.
        resume: o.resume || o.training?.resume, overwrite: true,
        progress: (p) => progress({ phase: 'unlearning', step: p.step, totalSteps: p.totalSteps, loss: p.loss, resumedFrom: p.resumedFrom }),
      });
      record = lastRecord(res.outDir);
    } catch (err) {
      return failure('unlearning', err);
    }
  }

  // Verifying
  if (r.state !== 'verifying') await advanceRequest(w, actor, requestId, 'verifying', { reason: `unlearned in ${record.seconds.toFixed(1)} s; evaluating against the policy` }, { steps: record.training.steps ?? null });
  if (cancelled()) return fail(cancelled()!);
  await o.progress?.({ phase: 'verifying', step: null, totalSteps: null, loss: null, resumedFrom: null });
  const names = policyMetrics(o.policy);
  const { metrics, quantize } = baseMetrics(names);
  const { holdoutFile, cacheDir, ...evalOpts } = o.evaluation ?? {};
  const files = { forget: o.forgetFile, ...(o.retainFile ? { retain: o.retainFile } : {}), ...(holdoutFile ? { holdout: holdoutFile } : {}) };
  // Per-item outputs and their cache in the private folder; the run folder keeps the aggregates.
  const priv = runPrivateDir(o.outDir);
  const common = { ...evalOpts, files, metrics, ...(quantize.length ? { quantize } : {}), cacheDir: cacheDir === null ? null : join(priv, '.lethe-cache'), log };
  let unlearned: EvalJson;
  let original: EvalJson;
  try {
    const evaluated: Record<string, EvalJson> = {};
    for (const [name, modelDir] of [['eval-original', o.modelDir], ['eval', modelOut]] as const) {
      if (cancelled()) throw new LetheError('CONFLICT', cancelled()!);
      evaluated[name] = (await evaluate({ ...common, modelDir, outDir: join(priv, name), overwrite: true })).eval;
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
    const why = failed.map((c) => `${c.metric} = ${num(c.value)} (${c.reason ?? `needs ${c.threshold.rule}`})`).join('; ');
    const res = await fail(`${failed.length} of ${verdict.checks.length} policy checks failed: ${why}`, { checks: verdict.checks.map((c) => ({ metric: c.metric, value: c.value, passed: c.passed })) });
    return { ...res, verdict };
  }

  // Released: certificate, registry row and the transition in one go
  if (cancelled()) return fail(cancelled()!);
  await o.progress?.({ phase: 'releasing', step: null, totalSteps: null, loss: null, resumedFrom: null });
  const folder = hashModelFolder(modelOut);
  const version = await nextVersion(w.store.db, modelName);
  const current = await getRequest(w, actor, requestId);
  const allMetrics = [...new Set(Object.keys(unlearned).filter((k) => k !== '_meta'))].sort();
  const cert: ReleaseCertificate = {
    kind: 'lethe-release-certificate', version: 1,
    request: { id: r.id, category: r.category, state: 'released' },
    model: { name: modelName, version, path: modelOut, contentSha256: folder.sha256, files: folder.files, originalContentSha256: hashModelFolder(o.modelDir).sha256 },
    unlearning: { method: record.method, args: record.args, rows: record.rows, training: record.training, seconds: record.seconds },
    data: { forgetSha256: record.data.forget, retainSha256: record.data.retain, forgetRows: scope.forget.rows },
    policy: { name: o.policy.name ?? null, passed: verdict.passed, checks: verdict.checks },
    metrics: Object.fromEntries(allMetrics.map((m) => [m, { value: value(unlearned, m), original: value(original, m) }])),
    approvals: current.history.map((t) => ({ from: t.from, to: t.to, actor: t.actor, at: t.at, reason: t.reason })),
    auditHead: await readAuditHead(w.store.db),
    keyId: w.deployment.keyId,
    issuedAt: w.now().toISOString(),
  };
  const certJson = JSON.stringify(cert, null, 2) + '\n';
  const certSha = createHash('sha256').update(certJson).digest('hex');
  const jsonPath = join(o.outDir, 'certificate.json');
  const htmlPath = join(o.outDir, 'certificate.html');
  writeFileSync(jsonPath, certJson);
  writeFileSync(htmlPath, certificateHtml(cert));
  const request = await advanceRequest(
    w, actor, requestId, 'released', { reason: `released ${modelName} v${version}: ${verdict.checks.length} policy checks passed` },
    { model: { name: modelName, version, contentSha256: folder.sha256 }, certificateSha256: certSha, checks: verdict.checks.length },
    async (trx, _r, at) => {
      const again = await trx.selectFrom('models').select((eb) => eb.fn.max('version').as('v')).where('name', '=', modelName).executeTakeFirst();
      if (Number(again?.v ?? 0) + 1 !== version) throw new LetheError('CONFLICT', `registry: ${modelName} v${version} was released by someone else meanwhile; run again`);
      await trx.insertInto('models').values({
        name: modelName, version, path: modelOut, content_sha256: folder.sha256, files_json: JSON.stringify(folder.files),
        request_id: requestId, certificate_sha256: certSha, released_by: actor.name, released_at: at,
      }).execute();
    },
  );
  log(`request ${requestId}: released ${modelName} v${version} (${folder.sha256.slice(0, 12)}…), certificate ${jsonPath}`);

  const forgetFileDeleted = await deleteForgetData(w, actor, requestId, scope, log);
  await deleteRunOutputs(w, actor, requestId, o.outDir, log);
  const [model] = (await listModelVersions(w, actor, modelName)).filter((m) => m.version === version);
  return { request, verdict, model, certificate: { json: jsonPath, html: htmlPath, sha256: certSha }, forgetFileDeleted };
}
