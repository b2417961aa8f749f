// Reading what a report is built from: an evaluation folder (EVAL.json, SUMMARY.json), the evaluated
// model's folder named in EVAL.json's _meta (train_log.jsonl, unlearning.json), and the EVAL.json of the
// target (before unlearning) and retain (never saw the forget set) models when the caller names them.
// Only JSON is read here: no tensor library, so `lethe report` runs without the native addon.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { EvalEntry, EvalJson, EvalMeta } from '../eval-file.js';
import { LetheError } from '../../util/errors.js';

/** The other models a run is shown beside. */
export type RefKind = 'target' | 'retain';
export const REF_KINDS: readonly RefKind[] = ['target', 'retain'];

/** One row of train_log.jsonl as the training loop writes it (runLoop in train/loop.ts). */
export interface TrainLogRow {
  stage?: string;
  step: number;
  loss?: number;
  eval?: Record<string, number>;
  [k: string]: unknown;
}

export interface UnlearningRequest {
  method: string;
  args?: Record<string, unknown>;
  training?: Record<string, unknown>;
  seconds?: number;
  parametersChanged?: number;
  parametersTotal?: number;
  startedAt?: string;
  [k: string]: unknown;
}

/** One evaluation folder, with what the report shows beside it. */
export interface EvalRun {
  /** Short display name (the folder's name, made unique among the runs of one report). */
  name: string;
  /** The evaluation folder (null for results given in memory). */
  dir: string | null;
  eval: EvalJson;
  meta: Partial<EvalMeta> & { retain_results?: Record<string, EvalEntry>; target_results?: Record<string, EvalEntry> };
  summary: Record<string, number | null>;
  /** The evaluated model's folder, when _meta names one that exists here. */
  modelDir: string | null;
  trainLog: TrainLogRow[] | null;
  unlearning: UnlearningRequest[] | null;
  /** The target / retain model's EVAL.json, when given. */
  refs: Partial<Record<RefKind, { source: string; eval: EvalJson }>>;
}

export interface LoadOptions {
  /** EVAL.json (or its folder) of the target model before unlearning. */
  target?: string | EvalJson;
  /** EVAL.json (or its folder) of the retain model. */
  retain?: string | EvalJson;
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LetheError('BAD_INPUT', `${file} is not valid JSON (${what}): ${(err as Error).message}`);
  }
}

/** EVAL.json from a file or the folder that holds it, checked to be an object of metric entries. */
export function readEval(path: string): { file: string; eval: EvalJson } {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'EVAL.json') : path;
  if (!existsSync(file)) throw new LetheError('NOT_FOUND', `${file} does not exist (expected an EVAL.json written by lethe eval)`);
  const j = readJson(file, 'EVAL.json');
  if (!j || typeof j !== 'object' || Array.isArray(j))
    throw new LetheError('BAD_INPUT', `${file} is not an EVAL.json: expected an object of metrics`);
  for (const [k, v] of Object.entries(j)) {
    if (k === '_meta') continue;
    if (!v || typeof v !== 'object' || !('agg_value' in v))
      throw new LetheError('BAD_INPUT', `${file}: entry '${k}' has no agg_value (not an EVAL.json written by lethe eval)`);
  }
  return { file, eval: j as EvalJson };
}

/** train_log.jsonl rows (lines that do not parse are skipped: a log being written may end mid-line). */
export function readTrainLog(file: string): TrainLogRow[] {
  const rows: TrainLogRow[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as TrainLogRow;
      if (r && typeof r === 'object' && typeof r.step === 'number') rows.push(r);
    } catch {
      // a partial last line
    }
  }
  return rows;
}

/** The model folder _meta.model names: as written (relative to the working directory), else relative to the evaluation folder. */
function findModelDir(model: unknown, evalDir: string | null): string | null {
  if (typeof model !== 'string' || !model) return null;
  const candidates = isAbsolute(model) ? [model] : [resolve(model), ...(evalDir ? [resolve(evalDir, model)] : [])];
  return candidates.find((c) => existsSync(c) && statSync(c).isDirectory()) ?? null;
}

function entries(e: EvalJson): [string, EvalEntry][] {
  return Object.entries(e).filter(([k]) => k !== '_meta') as [string, EvalEntry][];
}

/** Builds a run from an EVAL.json object (and the folder it came from, if any). */
export function runFromEval(evalJson: EvalJson, dir: string | null, o: LoadOptions = {}): EvalRun {
  const meta = (evalJson._meta ?? {}) as EvalRun['meta'];
  const summary: Record<string, number | null> = {};
  for (const [k, v] of entries(evalJson)) summary[k] = typeof v.agg_value === 'number' && Number.isFinite(v.agg_value) ? v.agg_value : null;
  const modelDir = findModelDir(meta.model, dir);
  // train_log.jsonl / unlearning.json: in the model folder, else in the evaluation folder itself.
  const look = (f: string) =>
    [modelDir, dir]
      .filter((d): d is string => !!d)
      .map((d) => join(d, f))
      .find((p) => existsSync(p)) ?? null;
  const logFile = look('train_log.jsonl');
  const unlFile = look('unlearning.json');
  let unlearning: UnlearningRequest[] | null = null;
  if (unlFile) {
    const u = readJson(unlFile, 'unlearning.json') as { requests?: UnlearningRequest[] };
    unlearning = Array.isArray(u?.requests) ? u.requests : null;
  }
  const refs: EvalRun['refs'] = {};
  for (const who of REF_KINDS) {
    const given = o[who];
    if (!given) continue;
    if (typeof given === 'string') {
      const r = readEval(given);
      refs[who] = { source: r.file, eval: r.eval };
    } else refs[who] = { source: 'given results', eval: given };
  }
  const name = dir ? basename(resolve(dir)) : typeof meta.model === 'string' ? basename(meta.model) : 'model';
  return { name, dir, eval: evalJson, meta, summary, modelDir, trainLog: logFile ? readTrainLog(logFile) : null, unlearning, refs };
}

/** Loads an evaluation folder (or an EVAL.json path). */
export function loadRun(path: string, o: LoadOptions = {}): EvalRun {
  const { file, eval: e } = readEval(path);
  return runFromEval(e, dirname(resolve(file)), o);
}

/** Loads several runs, giving each a unique display name (parent folder names added where basenames repeat). */
export function loadRuns(paths: string[], o: LoadOptions = {}): EvalRun[] {
  if (!paths.length) throw new LetheError('BAD_INPUT', 'no evaluation folder given');
  const runs = paths.map((p) => loadRun(p, o));
  uniqueNames(runs);
  return runs;
}

export function uniqueNames(runs: EvalRun[]): void {
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  for (const r of runs) if (count.get(r.name)! > 1 && r.dir) r.name = `${basename(dirname(resolve(r.dir)))}/${r.name}`;
  const seen = new Map<string, number>();
  for (const r of runs) {
    const n = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, n);
    if (n > 1) r.name = `${r.name} (${n})`;
  }
}

/** A metric's entry in a run (null when absent). */
export function entryOf(run: EvalRun, metric: string): EvalEntry | null {
  const e = run.eval[metric];
  return e && typeof e === 'object' && 'agg_value' in e ? (e as EvalEntry) : null;
}

/**
 * The target or retain model's entry for a metric: from its EVAL.json when given, else what this
 * evaluation recorded of it (_meta.<who>_results: the results the derived metrics read).
 */
export function refEntry(run: EvalRun, who: RefKind, metric: string): EvalEntry | null {
  const given = run.refs[who]?.eval[metric];
  if (given && typeof given === 'object' && 'agg_value' in given) return given as EvalEntry;
  const recorded = run.meta[`${who}_results`]?.[metric];
  return recorded && typeof recorded === 'object' && 'agg_value' in recorded ? recorded : null;
}

function finite(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/**
 * The target or retain model's aggregate for a metric, and where it came from: its EVAL.json, the
 * results this evaluation recorded, or an extra a derived metric stored (privleak keeps the retain
 * model's Min-K% AUC, model_utility_rel_target the target's model utility).
 */
export function refValue(run: EvalRun, who: RefKind, metric: string): number | null {
  const e = refEntry(run, who, metric);
  if (e) return finite(e.agg_value);
  if (who === 'retain' && metric === 'mia_min_k') return finite(entryOf(run, 'privleak')?.retain_auc);
  if (who === 'target' && metric === 'model_utility') return finite(entryOf(run, 'model_utility_rel_target')?.target);
  return null;
}

/** The metric names of a run, in EVAL.json order. */
export function metricNames(run: EvalRun): string[] {
  return entries(run.eval).map(([k]) => k);
}

/** The target's / retain model's value for a metric across the runs of one report (the first run that knows it). */
export function sharedRef(runs: readonly EvalRun[], who: RefKind, metric: string): number | null {
  for (const r of runs) {
    const v = refValue(r, who, metric);
    if (v !== null) return v;
  }
  return null;
}

/** A path as the file system knows it (symlinks resolved) when it exists, else resolved as written. */
function canonical(p: string, base?: string | null): string {
  const abs = base && !isAbsolute(p) && !existsSync(p) ? resolve(base, p) : resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/**
 * Which runs of a report are the retain or the target model itself rather than an unlearned
 * candidate: a run whose EVAL.json is the one given as its --retain / --target, or whose model folder
 * is the one a run's evaluation names as its retain / target model. Such a run is shown (its column
 * says which it is) but never marked best: the retain model is the gold standard candidates are
 * measured against, and the target is the starting point.
 */
export function refRoles(runs: readonly EvalRun[]): (RefKind | null)[] {
  const evalFiles: Record<RefKind, Set<string>> = { target: new Set(), retain: new Set() };
  const models: Record<RefKind, Set<string>> = { target: new Set(), retain: new Set() };
  const given: Record<RefKind, Set<EvalJson>> = { target: new Set(), retain: new Set() };
  for (const r of runs)
    for (const who of REF_KINDS) {
      const ref = r.refs[who];
      if (ref) {
        given[who].add(ref.eval);
        if (ref.source !== 'given results') evalFiles[who].add(canonical(ref.source));
      }
      const m = r.meta[`${who}_model`];
      if (typeof m === 'string' && m && m !== 'given results') models[who].add(canonical(findModelDir(m, r.dir) ?? m, r.dir));
    }
  // retain first: a run that is both (one model named as either) is never a candidate either way.
  return runs.map((r) => {
    const file = r.dir ? canonical(join(r.dir, 'EVAL.json')) : null;
    const model = r.modelDir ? canonical(r.modelDir) : typeof r.meta.model === 'string' ? canonical(r.meta.model, r.dir) : null;
    for (const who of ['retain', 'target'] as const)
      if (given[who].has(r.eval) || (file && evalFiles[who].has(file)) || (model && models[who].has(model))) return who;
    return null;
  });
}

/**
 * The retain / target value a report shows for a metric: the runs' references (sharedRef), else the
 * value of the run that is that model itself (refRoles).
 */
export function roleRef(runs: readonly EvalRun[], roles: readonly (RefKind | null)[], who: RefKind, metric: string): number | null {
  const v = sharedRef(runs, who, metric);
  if (v !== null) return v;
  const k = roles.indexOf(who);
  return k < 0 ? null : finite(entryOf(runs[k]!, metric)?.agg_value);
}
