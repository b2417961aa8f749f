// The metric registry. A metric is one file that calls defineMetric({name, description, needs, compute}):
// `name` is its key in EVAL.json (open-unlearning's names where it has one), `needs` what it reads
// (token statistics of an item set, generations, gradient norms, a reference model, other metrics,
// the retain or target model's results), `compute` turns those into {aggValue, valueByIndex}. The
// evaluator computes each need once per (model, item set) and hands it over through ctx.get().
import type { SeqStat } from '../scores.js';
import { LetheError } from '../../util/errors.js';

export type SetKind = 'qa' | 'text' | 'probe' | 'pair' | 'mc';

export type Need =
  /** Token statistics of every item: the true answer (with next-token distribution moments), and the paraphrased and perturbed answers of QA items. */
  | { kind: 'stats'; set: string; setKind?: SetKind[] }
  /** Greedy answers (QA sets) or continuations (probe sets). */
  | { kind: 'generations'; set: string; setKind?: SetKind[] }
  /** Sampled answers of a QA set: one list per seed (temperature, no top-k / top-p). */
  | { kind: 'samples'; set: string; temperature: number; seeds: number[]; setKind?: SetKind[] }
  /** Per-item gradient norm (p = 2) of the true answer's loss. */
  | { kind: 'gradNorm'; set: string; setKind?: SetKind[] }
  /** The logit lens: per item, the true answer's mean token log-probability read from every layer (number[] of L + 1). */
  | { kind: 'lens'; set: string; setKind?: SetKind[] }
  /** Per item and layer, the mean hidden state over the positions that predict its answer (number[][] of L + 1 × hidden size). */
  | { kind: 'features'; set: string; setKind?: SetKind[] }
  /** The reference model's statistics of the same scored sequences (true answers / texts). */
  | { kind: 'reference'; set: string; setKind?: SetKind[] }
  /** Mean NLL of this model's generations on the set under the reference model. */
  | { kind: 'referenceNll'; set: string; setKind?: SetKind[] }
  /** Per-choice log-likelihoods of a multiple-choice set's items (src/eval/mc/: {loglikelihoods, greedy, tokens, truncated} per item). */
  | { kind: 'mc'; set: string; setKind?: SetKind[] }
  /** Shadow models' mean token NLL on every forget and holdout record, with which of them trained on it (src/eval/shadows.ts; `lethe eval --mia lira`). */
  | { kind: 'shadows' }
  /** Another metric of this model. */
  | { kind: 'metric'; name: string }
  /** A metric of the retain model (trained without the forget set), on the same item sets. */
  | { kind: 'retain'; name: string }
  /** A metric of the target model (before unlearning), on the same item sets. */
  | { kind: 'target'; name: string };

/** What `stats` gives per item. */
export interface ItemStats {
  true: SeqStat;
  para?: SeqStat;
  pert?: SeqStat[];
  /** The scored text of the true answer (or passage), for zlib. */
  text: string;
}

export type ValueByIndex = Record<string, Record<string, unknown>>;

export interface MetricResult {
  /** The aggregate (null when the metric could not be computed; `reason` says why). */
  aggValue: number | null;
  /** Per item, keyed by the item's index in its set as a string (open-unlearning's value_by_index). */
  valueByIndex?: ValueByIndex;
  /** Anything else worth keeping (ROC points, p-value method, the values that went into an aggregate). */
  extra?: Record<string, unknown>;
  reason?: string;
}

export interface EvalItemSet {
  name: string;
  kind: SetKind;
  description: string;
  items: Record<string, unknown>[];
}

export interface MetricContext {
  /** The value of a declared need (computed once and shared). */
  get<T = unknown>(need: Need): Promise<T>;
  set(name: string): EvalItemSet;
}

export type MetricGroup = 'forget' | 'utility' | 'privacy' | 'scope' | 'robustness' | 'fluency';

export interface MetricDefinition {
  name: string;
  description: string;
  needs: Need[];
  group: MetricGroup;
  /** true: higher is better for the unlearned model; false: lower is better; null: closeness to the retain model matters. */
  higherIsBetter: boolean | null;
  /** Parameters that change the result (part of the cache key). */
  params?: Record<string, unknown>;
  /** Re-run on robustness variants (quantized copies, relearned models) under a prefixed key. */
  variant?: boolean;
  /** Why a forget-side metric cannot run on a variant (the meta-evaluation reports it as the robustness's reason). */
  noVariant?: string;
  /** For a metric without a direction: the value that reads no forget knowledge, fixed or the same
   *  model's value of another metric (on people it never saw). The meta-evaluation reads the knowledge
   *  as the distance from it, either side (src/eval/meta.ts); the metric's file says why. */
  knowledge?: KnowledgeScale;
  compute(ctx: MetricContext): Promise<MetricResult>;
}

export interface KnowledgeScale {
  neutral: number | { metric: string };
}

const REGISTRY = new Map<string, MetricDefinition>();

export function defineMetric(def: MetricDefinition): MetricDefinition {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(def.name))
    throw new LetheError('INTERNAL', `metric name must be letters, digits and _, got '${def.name}'`);
  if (REGISTRY.has(def.name)) throw new LetheError('INTERNAL', `metric '${def.name}' is already registered`);
  REGISTRY.set(def.name, def);
  return def;
}

export function getMetric(name: string): MetricDefinition {
  const m = REGISTRY.get(name);
  if (!m) throw new LetheError('NOT_FOUND', `metric '${name}' is not registered (known: ${[...REGISTRY.keys()].sort().join(', ')})`);
  return m;
}

export function listMetrics(): MetricDefinition[] {
  return [...REGISTRY.values()];
}

/** The item sets a need reads, with the kinds it accepts. */
export function needSet(n: Need): { set: string; setKind?: SetKind[] } | null {
  return 'set' in n ? { set: n.set, setKind: n.setKind } : null;
}

export function needKey(n: Need): string {
  if (n.kind === 'samples') return `samples:${n.set}:t${n.temperature}:s${n.seeds.join('.')}`;
  if (n.kind === 'shadows') return 'shadows';
  return 'set' in n ? `${n.kind}:${n.set}` : `${n.kind}:${n.name}`;
}
