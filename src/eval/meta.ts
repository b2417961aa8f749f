// Meta-evaluation of the metrics: every metric is computed on a pool of models in which the forget
// knowledge is known present (the target, relearned or half-unlearned models) or known absent (retain
// models, the never-trained base). A metric's faithfulness is the ROC AUC with which its value separates
// the two (1: always tells them apart, 0.5: chance); its robustness is the same AUC on its quantized
// and relearned variants (int4_X, relearn_X). Each model is evaluated with evaluate() and its cache.
// What a value says about the knowledge: a directed metric reads more of it from a worse value (lower
// when higher is better); a metric without a direction, from its distance to its neutral value (the
// metric definition's `knowledge`: 0.5 for a membership AUC, the same model on never-seen people for
// the truth ratio).
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CausalLM } from '../models/model.js';
import { LetheError } from '../util/errors.js';
import { claimOutputDir } from '../util/output.js';
import { writeFileAtomic } from '../util/atomic.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { readEvalJson, type EvalEntry, type EvalJson, type EvalMeta } from './eval-file.js';
import { getMetric, listMetrics } from './metrics/index.js';
import type { MetricDefinition, MetricGroup } from './metrics/registry.js';
import { rocAuc } from './stats.js';

export interface PoolModel {
  dir: string;
  /** true: the forget knowledge is in this model; false: it never was or was retrained away. */
  present: boolean;
}

export interface MetricMeta {
  metric: string;
  group: MetricGroup;
  higher_is_better: boolean | null;
  /** How the value reads the knowledge: 'lower' / 'higher' (the value that reads more of it), or '|v − N|' with its neutral point. */
  knowledge_read_as?: string | null;
  /** AUC separating present from absent (null: not applicable or missing values; `reason` says why). */
  faithfulness: number | null;
  /** Per variant (int4, relearn): the same AUC on the variant's value; null with a reason in `robustness_reasons`. */
  robustness: Record<string, number | null>;
  robustness_reasons?: Record<string, string>;
  reason?: string;
}

export interface MetaJson {
  kind: 'lethe-meta-evaluation';
  version: 1;
  created: string;
  seconds: number;
  pool: { model: string; present: boolean; eval: string; seconds: number }[];
  variants: string[];
  /** Ranked: faithfulness high to low, then the metrics without one. */
  metrics: MetricMeta[];
}

/** Groups that measure the model's general ability (or its knowledge next to the forget set's), not the forget knowledge. */
const NOT_KNOWLEDGE: readonly MetricGroup[] = ['utility', 'fluency', 'scope'];

/**
 * AUC with which the knowledge scores (knowledgeScore) tell a model holding the knowledge (label 1)
 * from one without (label 0): sklearn's roc_auc_score (ties count one half).
 */
export function separationAuc(scores: readonly number[], present: readonly boolean[]): number {
  return rocAuc(
    [...scores],
    present.map((p) => (p ? 1 : 0)),
  );
}

/** Why a metric's value says nothing about the forget knowledge, or null when it does. */
export function notApplicable(def: Pick<MetricDefinition, 'group' | 'higherIsBetter' | 'knowledge'>): string | null {
  if (NOT_KNOWLEDGE.includes(def.group))
    return `not applicable: a ${def.group} metric measures the model's general ability, not the forget knowledge`;
  if (def.higherIsBetter === null && !def.knowledge)
    return 'not applicable: no direction and no neutral value (a baseline, or closeness to the retain model matters)';
  return null;
}

/** How a metric's value reads the knowledge, for the report (null: it does not). */
export function knowledgeReadAs(def: Pick<MetricDefinition, 'group' | 'higherIsBetter' | 'knowledge'>): string | null {
  if (notApplicable(def) !== null) return null;
  const n = def.knowledge?.neutral;
  if (n === undefined) return def.higherIsBetter ? 'lower' : 'higher';
  return `|v − ${typeof n === 'number' ? n : n.metric}|`;
}

/**
 * How much forget knowledge one model's value of a metric reads (higher = more), or why there is no
 * score. `own` is the model's summary (the neutral metric's value is read from it, with the same
 * variant prefix: int4_forget_truth_ratio against int4_holdout_truth_ratio).
 */
export function knowledgeScore(
  def: Pick<MetricDefinition, 'name' | 'higherIsBetter' | 'knowledge'>,
  own: Record<string, number | null | undefined>,
  prefix = '',
): number | string {
  const key = `${prefix}${def.name}`;
  const v = own[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${key} has no value`;
  const n = def.knowledge?.neutral;
  if (n === undefined) {
    if (def.higherIsBetter === null) throw new LetheError('INTERNAL', `${def.name}: no direction and no neutral value`);
    return def.higherIsBetter ? -v : v;
  }
  const neutral = typeof n === 'number' ? n : own[`${prefix}${n.metric}`];
  if (typeof neutral !== 'number' || !Number.isFinite(neutral))
    return `its neutral value ${prefix}${(n as { metric: string }).metric} has no value`;
  return Math.abs(v - neutral);
}

/** The AUC of the models' knowledge scores for one metric (under a variant prefix), or the reason there is none. */
function aucOf(def: MetricDefinition, summaries: Record<string, number | null>[], present: boolean[], prefix = ''): number | string {
  const scores = summaries.map((s) => knowledgeScore(def, s, prefix));
  const missing = scores.filter((v) => typeof v === 'string');
  if (missing.length) return `${missing[0]} on ${missing.length} of ${scores.length} models`;
  return separationAuc(scores as number[], present);
}

/** Faithfulness and robustness of every registered metric found in the summaries, ranked. */
export function metaMetrics(summaries: Record<string, number | null>[], present: boolean[], variants: string[]): MetricMeta[] {
  if (summaries.length !== present.length) throw new LetheError('INTERNAL', 'meta: one summary per pool model');
  if (!present.some(Boolean) || present.every(Boolean))
    throw new LetheError('BAD_INPUT', 'eval meta: the pool needs at least one model with the knowledge and one without');
  const names = listMetrics()
    .map((m) => m.name)
    .filter((n) => summaries.some((s) => n in s));
  const out = names.map((name): MetricMeta => {
    const def = getMetric(name);
    const base = {
      metric: name,
      group: def.group,
      higher_is_better: def.higherIsBetter,
      knowledge_read_as: knowledgeReadAs(def),
      robustness: {} as Record<string, number | null>,
    };
    const na = notApplicable(def);
    if (na !== null) return { ...base, faithfulness: null, reason: na };
    const f = aucOf(def, summaries, present);
    const reasons: Record<string, string> = {};
    for (const v of variants) {
      const r = def.variant ? aucOf(def, summaries, present, `${v}_`) : (def.noVariant ?? 'not computed on the variants');
      base.robustness[v] = typeof r === 'number' ? r : null;
      if (typeof r === 'string') reasons[v] = r;
    }
    return {
      ...base,
      faithfulness: typeof f === 'number' ? f : null,
      ...(typeof f === 'string' ? { reason: f } : {}),
      ...(Object.keys(reasons).length ? { robustness_reasons: reasons } : {}),
    };
  });
  return out.sort((a, b) => (b.faithfulness ?? -1) - (a.faithfulness ?? -1) || a.metric.localeCompare(b.metric));
}

export interface MetaOptions extends Omit<EvaluateOptions, 'model' | 'modelDir' | 'outDir' | 'name' | 'overwrite' | 'relearn'> {
  pool: PoolModel[];
  outDir: string;
  overwrite?: boolean;
  /** Continue an interrupted run in outDir: the pool models evaluated already are read back. */
  resume?: boolean;
  /** The relearning attack for one pool model (its hook is built from its folder). */
  relearnFor?: (modelDir: string) => (model: CausalLM) => Promise<CausalLM>;
  /** Builds more pool models in the given folder (OUT/pool; `--build-pool`, src/workflow/meta-pool.ts). */
  buildPool?: (dir: string) => Promise<PoolModel[]>;
}

export const META_FILE = 'meta.json';

/** The results of a pool model an interrupted run evaluated already (its EVAL.json), or null. */
function evaluatedBefore(dir: string, name: string): { eval: EvalJson; summary: Record<string, number | null>; seconds: number } | null {
  const file = join(dir, 'EVAL.json');
  if (!existsSync(file)) return null;
  const ev = readEvalJson(file);
  const meta = ev._meta as EvalMeta | undefined;
  if (meta?.model !== name)
    throw new LetheError('CONFLICT', `eval meta: ${dir} holds the evaluation of another model (${String(meta?.model)}); use --overwrite`);
  const summary = Object.fromEntries(
    Object.entries(ev)
      .filter(([k]) => k !== '_meta')
      .map(([k, e]) => [k, (e as EvalEntry).agg_value]),
  );
  return { eval: ev, summary, seconds: meta.seconds };
}

/** The metric names plus the neutral metrics their knowledge scores read (in order, once each). */
export function withNeutralMetrics(names: readonly string[]): string[] {
  const neutral = names
    .map((n) => getMetric(n).knowledge?.neutral)
    .flatMap((n) => (n !== undefined && typeof n !== 'number' ? [n.metric] : []));
  return [...new Set([...names, ...neutral])];
}

/** Evaluates every pool model into OUT/models/K-NAME and writes OUT/meta.json (the reports are the caller's). */
export async function metaEvaluate(o: MetaOptions): Promise<MetaJson> {
  const t0 = Date.now();
  const checkPool = (pool: PoolModel[]) => {
    if (!pool.some((m) => m.present) || !pool.some((m) => !m.present))
      throw new LetheError('BAD_INPUT', 'eval meta: give at least one --present and one --absent model folder (or --build-pool)');
    const seen = new Set<string>();
    for (const m of pool) {
      if (seen.has(resolve(m.dir)))
        throw new LetheError('BAD_INPUT', `eval meta: ${m.dir} is given twice (each pool model once, present or absent)`);
      seen.add(resolve(m.dir));
    }
  };
  if (!o.buildPool) checkPool(o.pool);
  const use = claimOutputDir(o.outDir, {
    what: 'eval meta',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: (d) => (existsSync(join(d, 'models')) || existsSync(join(d, 'pool'))) && !existsSync(join(d, META_FILE)),
    finished: (d) => (existsSync(join(d, META_FILE)) ? `a finished meta-evaluation (${META_FILE})` : null),
    inputs: o.pool.map((m) => ({ name: m.present ? '--present' : '--absent', path: m.dir })),
  });
  const { pool: given, relearnFor, buildPool, overwrite: _o, resume: _r, outDir, ...common } = o;
  const pool = buildPool
    ? [...given, ...(await buildPool(join(outDir, 'pool')))].sort((a, b) => Number(b.present) - Number(a.present))
    : given;
  checkPool(pool);
  // A metric read against a neutral metric of the same model needs that one too (on the variants as well).
  if (common.metrics) common.metrics = withNeutralMetrics(common.metrics);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const summaries: Record<string, number | null>[] = [];
  const rows: MetaJson['pool'] = [];
  let variants: string[] = [];
  for (const [k, m] of pool.entries()) {
    const dir = join(outDir, 'models', `${k + 1}-${basename(m.dir)}`);
    const name = `${basename(m.dir)} (${m.present ? 'present' : 'absent'})`;
    const before = use === 'resume' ? evaluatedBefore(dir, name) : null;
    if (before) log(`[eval meta] ${name}: evaluated before, read from ${dir}`);
    const r =
      before ??
      (await evaluate({
        ...common,
        modelDir: m.dir,
        name,
        relearn: relearnFor?.(m.dir),
        outDir: dir,
        overwrite: use === 'resume',
        cacheDir: common.cacheDir === undefined ? join(outDir, '.lethe-cache') : common.cacheDir,
      }));
    summaries.push(r.summary);
    variants = (r.eval._meta as EvalMeta | undefined)?.variants ?? variants;
    rows.push({ model: m.dir, present: m.present, eval: dir, seconds: r.seconds });
  }
  const meta: MetaJson = {
    kind: 'lethe-meta-evaluation',
    version: 1,
    created: new Date().toISOString(),
    seconds: 0,
    pool: rows,
    variants,
    metrics: metaMetrics(
      summaries,
      pool.map((m) => m.present),
      variants,
    ),
  };
  meta.seconds = (Date.now() - t0) / 1000;
  writeFileAtomic(join(outDir, META_FILE), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}
