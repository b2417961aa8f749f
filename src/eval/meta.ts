// Meta-evaluation of the metrics: every metric is computed on a pool of models in which the forget
// knowledge is known present (the target, relearned or half-unlearned models) or known absent (retain
// models, the never-trained base). A metric's faithfulness is the ROC AUC with which its value separates
// the two (1: always tells them apart, 0.5: chance); its robustness is the same AUC on its quantized
// and relearned variants (int4_X, relearn_X). Each model is evaluated with evaluate() and its cache.
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { CausalLM } from '../models/model.js';
import { LetheError } from '../util/errors.js';
import { claimOutputDir } from '../util/output.js';
import { writeFileAtomic } from '../util/atomic.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { readEvalJson, type EvalEntry, type EvalJson, type EvalMeta } from './eval-file.js';
import { getMetric, listMetrics } from './metrics/index.js';
import type { MetricGroup } from './metrics/registry.js';
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
 * AUC with which `value` tells a model holding the knowledge (label 1) from one without (label 0).
 * A metric where higher is better for an unlearned model reads knowledge present from a lower value,
 * so its values are negated; sklearn's roc_auc_score on the oriented scores (ties count one half).
 */
export function separationAuc(values: readonly number[], present: readonly boolean[], higherIsBetter: boolean): number {
  return rocAuc(
    values.map((v) => (higherIsBetter ? -v : v)),
    present.map((p) => (p ? 1 : 0)),
  );
}

/** Why a metric's direction says nothing about the forget knowledge, or null when it does. */
export function notApplicable(group: MetricGroup, higherIsBetter: boolean | null): string | null {
  if (NOT_KNOWLEDGE.includes(group))
    return `not applicable: a ${group} metric measures the model's general ability, not the forget knowledge`;
  if (higherIsBetter === null) return 'not applicable: no direction (closeness to the retain model matters, not higher or lower)';
  return null;
}

/** The AUC of one key of the models' summaries, or the reason there is none. */
function aucOf(key: string, summaries: Record<string, number | null>[], present: boolean[], h: boolean): number | string {
  const values = summaries.map((s) => s[key]);
  const missing = values.filter((v) => typeof v !== 'number' || !Number.isFinite(v)).length;
  if (missing) return `${key} has no value on ${missing} of ${values.length} models`;
  return separationAuc(values as number[], present, h);
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
    const base = { metric: name, group: def.group, higher_is_better: def.higherIsBetter, robustness: {} as Record<string, number | null> };
    const h = def.higherIsBetter;
    const na = notApplicable(def.group, h);
    if (na !== null || h === null) return { ...base, faithfulness: null, reason: na ?? 'not applicable' };
    const f = aucOf(name, summaries, present, h);
    const reasons: Record<string, string> = {};
    for (const v of def.variant ? variants : []) {
      const r = aucOf(`${v}_${name}`, summaries, present, h);
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

/** Evaluates every pool model into OUT/models/K-NAME and writes OUT/meta.json (the reports are the caller's). */
export async function metaEvaluate(o: MetaOptions): Promise<MetaJson> {
  const t0 = Date.now();
  if (!o.pool.some((m) => m.present) || !o.pool.some((m) => !m.present))
    throw new LetheError('BAD_INPUT', 'eval meta: give at least one --present and one --absent model folder');
  const seen = new Set<string>();
  for (const m of o.pool) {
    if (seen.has(resolve(m.dir)))
      throw new LetheError('BAD_INPUT', `eval meta: ${m.dir} is given twice (each pool model once, present or absent)`);
    seen.add(resolve(m.dir));
  }
  const use = claimOutputDir(o.outDir, {
    what: 'eval meta',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: (d) => existsSync(join(d, 'models')) && !existsSync(join(d, META_FILE)),
    finished: (d) => (existsSync(join(d, META_FILE)) ? `a finished meta-evaluation (${META_FILE})` : null),
    inputs: o.pool.map((m) => ({ name: m.present ? '--present' : '--absent', path: m.dir })),
  });
  const { pool, relearnFor, overwrite: _o, resume: _r, outDir, ...common } = o;
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
