// EVAL.json and SUMMARY.json: their shape, reading and writing, and the conversion between an
// entry and a metric's result.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PromptFormat } from '../train/prompt.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { MetricResult } from './metrics/index.js';
import { LetheError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';

/** EVAL.json: one entry per metric, as open-unlearning writes it, plus `_meta` (see writeResults). */
export interface EvalEntry {
  agg_value: number | null;
  value_by_index?: Record<string, Record<string, unknown>>;
  reason?: string;
  [extra: string]: unknown;
}
export type EvalJson = Record<string, EvalEntry | EvalMeta>;

export interface EvalMeta {
  lethe_eval_version: number;
  model: string;
  suite: string;
  sets: Record<string, { kind: string; items: number; description: string }>;
  prompt_format: PromptFormat;
  retain_model: string | null;
  target_model: string | null;
  reference_model: string | null;
  /** The shadow models of the per-record membership attack (`--mia lira`), when used. */
  shadows?: { count: number; baseDir: string; dataFile?: string; epochs: number; lr: number; batchSize: number; seed: number };
  variants: string[];
  metrics: Record<string, { description: string; group: string; higher_is_better: boolean | null; variant_of?: string }>;
  /** The retain / target model's results that derived metrics read (forget_truth_ratio, mia_min_k, model_utility...), for reports. */
  retain_results?: Record<string, EvalEntry>;
  target_results?: Record<string, EvalEntry>;
  seconds: number;
  created: string;
}

/** JSON with non-finite numbers written as null (JSON has no NaN or Infinity). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? null : x), 1);
}

/** Reads a metric's result from an EVAL.json object. */
export function fromEvalJson(json: EvalJson, name: string, who: string): MetricResult {
  const e = json[name] as EvalEntry | undefined;
  if (!e || typeof e !== 'object' || !('agg_value' in e)) return { aggValue: null, reason: `the ${who} results have no '${name}'` };
  const { agg_value, value_by_index, reason, ...extra } = e;
  return { aggValue: agg_value, valueByIndex: value_by_index, reason, extra };
}

/** A metric's result as an EVAL.json entry; a null agg_value always comes with a reason. */
export function toEntry(r: MetricResult): EvalEntry {
  const finite = r.aggValue === null || Number.isFinite(r.aggValue);
  const e: EvalEntry = { agg_value: finite ? r.aggValue : null };
  if (r.valueByIndex) e.value_by_index = r.valueByIndex;
  if (r.reason) e.reason = r.reason;
  // A NaN or infinite aggregate is written as null: say so rather than leave it unexplained.
  else if (e.agg_value === null) e.reason = finite ? 'no value (the metric gave no reason)' : `the computed value was ${r.aggValue}`;
  if (r.extra) for (const [k, v] of Object.entries(r.extra)) if (!(k in e)) e[k] = v;
  return e;
}

/**
 * Writes the two result files, each atomically (temporary file, fsync, rename). Their shape, which the
 * Markdown/HTML reports read:
 *   EVAL.json    {"<metric>": {"agg_value": number|null, "value_by_index"?: {"<item index>": {...per-item values}},
 *                              "reason"?: string (why agg_value is null), ...extra (e.g. MIA: auc, forget, holdout, roc;
 *                              forget_quality: ks_statistic, method; model_utility: parts, missing)},
 *                 "_meta": {model, suite, sets: {name: {kind, items, description}}, prompt_format, retain_model,
 *                           target_model, reference_model, variants, metrics: {"<metric>": {description, group,
 *                           higher_is_better, variant_of?}}, retain_results, target_results (the other models'
 *                           entries that derived metrics read, same shape as above), seconds, created}}
 *   SUMMARY.json {"<metric>": agg_value}  (aggregates only, as open-unlearning's SUMMARY.json)
 * Robustness variants are ordinary keys with a prefix: int8_<metric>, int4_<metric>, relearn_<metric>.
 */
export function writeResults(outDir: string, evalJson: EvalJson, summary: Record<string, number | null>): void {
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(join(outDir, 'EVAL.json'), toJson(evalJson), { fsync: true });
  writeFileAtomic(join(outDir, 'SUMMARY.json'), toJson(summary), { fsync: true });
}

/** Reads an EVAL.json written by evaluate() (for retainResults / targetResults). */
export function readEvalJson(path: string): EvalJson {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'EVAL.json') : path;
  if (!existsSync(file)) throw new LetheError('NOT_FOUND', `${file} does not exist (expected an EVAL.json written by lethe eval)`);
  return readJsonFile(file) as EvalJson;
}
