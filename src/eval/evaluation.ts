// One model's evaluation: which metrics can run on its item sets, each metric computed once (through
// the needs memo) and its result cached on disk when the model is known by content.
import type { CausalLM } from '../models/model.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { PromptFormat } from '../train/prompt.js';
import {
  getMetric,
  needKey,
  type EvalItemSet,
  type MetricContext,
  type MetricDefinition,
  type MetricResult,
  type Need,
} from './metrics/index.js';
import { NeedsMemo, type ModelSlot } from './needs.js';
import type { ShadowSpec } from './shadows.js';
import { cacheFile, readCached, writeCached } from './result-cache.js';
import { LetheError } from '../util/errors.js';

/** What the evaluations of one evaluate() call share. */
export interface EvaluationShared {
  cacheDir: string | null;
  log: (l: string) => void;
  batchSize: number;
  reference: () => ModelSlot | null;
  other: (who: 'retain' | 'target', name: string) => Promise<MetricResult>;
  hasOther: (who: 'retain' | 'target') => boolean;
  /** The shadow models of `--mia lira` (absent: not configured). */
  shadows?: ShadowSpec | null;
  /** Adds a timed piece of work (a need computed) to the evaluation's profile. */
  charge?: (what: string, seconds: number) => void;
}

export class Evaluation {
  private readonly metrics = new Map<string, Promise<MetricResult>>();
  private readonly needs: NeedsMemo;
  readonly setsByName: Map<string, EvalItemSet>;

  constructor(
    readonly label: string,
    readonly model: CausalLM,
    readonly tok: Tokenizer,
    /** The model's cache identity (result-cache.ts; null: not cached). */
    readonly hash: string | null,
    sets: EvalItemSet[],
    readonly format: PromptFormat,
    readonly shared: EvaluationShared,
  ) {
    this.setsByName = new Map(sets.map((s) => [s.name, s]));
    this.needs = new NeedsMemo({
      label,
      model,
      tok,
      format,
      set: (name) => this.set(name),
      batchSize: shared.batchSize,
      log: shared.log,
      charge: shared.charge ? (what, seconds) => shared.charge!(`${label}: ${what}`, seconds) : undefined,
      reference: shared.reference,
      metric: (name) => this.metric(name),
      other: shared.other,
      shadows: () => shared.shadows ?? null,
      cacheDir: shared.cacheDir,
    });
  }

  set(name: string): EvalItemSet {
    const s = this.setsByName.get(name);
    if (!s)
      throw new LetheError(
        'BAD_INPUT',
        `item set '${name}' is not part of this evaluation (have ${[...this.setsByName.keys()].join(', ')})`,
      );
    return s;
  }

  /** Why a metric cannot run here ('skip': its item sets are not in this suite), or null. */
  unavailable(m: MetricDefinition, seen = new Set<string>()): { skip: boolean; reason: string } | null {
    if (seen.has(m.name)) return null;
    seen.add(m.name);
    // model_utility runs when some of its parts can: it is then null, listing the missing ones.
    const partial = m.name === 'model_utility';
    let anyOk = false;
    let firstProblem: { skip: boolean; reason: string } | null = null;
    for (const n of m.needs) {
      let problem: { skip: boolean; reason: string } | null = null;
      if ('set' in n) {
        const s = this.setsByName.get(n.set);
        if (!s) problem = { skip: true, reason: `needs the item set '${n.set}', which this suite does not have` };
        else if (n.setKind && !n.setKind.includes(s.kind))
          problem = { skip: true, reason: `needs '${n.set}' as ${n.setKind.join(' or ')} items, but it holds ${s.kind} items` };
        else if ((n.kind === 'reference' || n.kind === 'referenceNll') && !this.shared.reference())
          problem = { skip: false, reason: 'needs a reference model (--reference-model, or --retain-model which is used by default)' };
      } else if (n.kind === 'shadows') {
        if (!this.shared.shadows)
          problem = { skip: false, reason: 'needs shadow models: lethe eval --mia lira --shadows K --shadow-base DIR' };
      } else if (n.kind === 'metric') {
        problem = this.unavailable(getMetric(n.name), seen);
      } else if (!this.shared.hasOther(n.kind)) {
        problem = { skip: false, reason: `needs the ${n.kind} model's results (--${n.kind}-model DIR)` };
      } else {
        const inner = this.unavailable(getMetric(n.name), seen);
        if (inner) problem = inner;
      }
      if (problem) firstProblem ??= problem;
      else anyOk = true;
    }
    if (partial) return anyOk || !m.needs.length ? null : firstProblem;
    return firstProblem;
  }

  metric(name: string): Promise<MetricResult> {
    let p = this.metrics.get(name);
    if (!p) {
      p = this.runMetric(getMetric(name));
      this.metrics.set(name, p);
    }
    return p;
  }

  private async runMetric(m: MetricDefinition): Promise<MetricResult> {
    const missing = this.unavailable(m);
    if (missing) return { aggValue: null, reason: missing.reason };
    const file =
      this.hash && this.shared.cacheDir
        ? cacheFile(this.shared.cacheDir, this.hash, m, (s) => this.set(s), this.format, this.tok.eosTokenId)
        : null;
    const cached = file ? readCached(file) : null;
    if (cached) return cached;
    const declared = new Set(m.needs.map(needKey));
    const ctx: MetricContext = {
      get: <T>(n: Need) => {
        if (!declared.has(needKey(n)))
          throw new LetheError('INTERNAL', `metric '${m.name}' asked for '${needKey(n)}', which it does not declare in needs`);
        return this.needs.get(n) as Promise<T>;
      },
      set: (s) => this.set(s),
    };
    const r = await m.compute(ctx);
    if (file) writeCached(file, r);
    return r;
  }
}
