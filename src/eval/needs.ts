// The needs memo: what metrics read (token statistics, generations, samples, gradient norms, a
// reference model's statistics, multiple-choice scores, other metrics' results), each computed once
// per (model, item set) and shared. One batched forward over the true, paraphrased and perturbed
// answers of a QA set serves the probabilities, truth ratios, membership attacks, exact memorization
// and extraction strength.
import type { CausalLM } from '../models/model.js';
import { loadModel } from '../models/load.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { PromptFormat } from '../train/prompt.js';
import { needKey, type EvalItemSet, type ItemStats, type MetricResult, type Need } from './metrics/index.js';
import {
  encodeQaPair,
  encodeText,
  sequenceStats,
  greedyAnswers,
  sampledAnswers,
  greedyContinuations,
  gradientNorms,
  lensLogProbs,
  answerFeatures,
  type EncodedSeq,
} from './providers.js';
import { avgLoss, type SeqStat } from './scores.js';
import { scoreItems } from './mc/score.js';
import type { McItem } from './mc/formats.js';
import { shadowLosses, type ShadowSpec } from './shadows.js';
import { LetheError } from '../util/errors.js';

/** A model other than the evaluated one (retain, target, reference), loaded on first use. */
export interface ModelSlot {
  dir: string | null;
  model: CausalLM | null;
  tok: Tokenizer | null;
  owned: boolean;
}

export function ensureLoaded(slot: ModelSlot): CausalLM {
  if (!slot.model) {
    slot.model = loadModel(slot.dir!);
    slot.owned = true;
  }
  return slot.model;
}

/** What the needs of one model's evaluation are computed from. */
export interface NeedsScope {
  /** The model's name in log lines. */
  label: string;
  model: CausalLM;
  tok: Tokenizer;
  format: PromptFormat;
  set: (name: string) => EvalItemSet;
  batchSize: number;
  log: (line: string) => void;
  /** Records the seconds a need took, by what it is (the profile of `lethe eval --profile`). */
  charge?: (what: string, seconds: number) => void;
  reference: () => ModelSlot | null;
  /** The shadow models of `--mia lira` (null: not configured). */
  shadows?: () => ShadowSpec | null;
  cacheDir?: string | null;
  /** A metric's result on this model ('metric' needs). */
  metric: (name: string) => Promise<MetricResult>;
  /** A metric's result on the retain or target model ('retain' / 'target' needs). */
  other: (who: 'retain' | 'target', name: string) => Promise<MetricResult>;
}

export class NeedsMemo {
  private readonly needs = new Map<string, Promise<unknown>>();
  private readonly encoded = new Map<
    string,
    Promise<{ true: EncodedSeq[]; para: (EncodedSeq | null)[]; pert: EncodedSeq[][]; texts: string[] }>
  >();

  constructor(private readonly s: NeedsScope) {}

  private async encodeSet(name: string) {
    let p = this.encoded.get(name);
    if (!p) {
      p = (async () => {
        const s = this.s.set(name);
        const maxLength = this.s.model.config.maxPositionEmbeddings;
        const o = { format: this.s.format, maxLength };
        const out = { true: [] as EncodedSeq[], para: [] as (EncodedSeq | null)[], pert: [] as EncodedSeq[][], texts: [] as string[] };
        for (const it of s.items) {
          if (s.kind === 'qa') {
            const q = String(it.question);
            out.true.push(await encodeQaPair(this.s.tok, q, String(it.answer), o));
            out.para.push(typeof it.paraphrased_answer === 'string' ? await encodeQaPair(this.s.tok, q, it.paraphrased_answer, o) : null);
            out.pert.push(
              Array.isArray(it.perturbed_answer)
                ? await Promise.all(it.perturbed_answer.map((a) => encodeQaPair(this.s.tok, q, String(a), o)))
                : [],
            );
            out.texts.push(String(it.answer));
          } else if (s.kind === 'pair') {
            const prompt = String(it.prompt);
            const ids = await this.s.tok.encode(prompt + String(it.completion));
            const promptLength = (await this.s.tok.encode(prompt)).length;
            out.true.push({ ids: ids.slice(0, maxLength), promptLength: Math.min(promptLength, maxLength - 1), eos: false });
            out.para.push(null);
            out.pert.push([]);
            out.texts.push(String(it.completion));
          } else if (s.kind === 'text') {
            out.true.push(await encodeText(this.s.tok, String(it.text), maxLength, name === 'gcide' ? 160 : Infinity));
            out.para.push(null);
            out.pert.push([]);
            out.texts.push(String(it.text));
          } else {
            throw new LetheError('BAD_INPUT', `item set '${name}' holds ${s.kind} items, which have no scored sequence`);
          }
        }
        return out;
      })();
      this.encoded.set(name, p);
    }
    return p;
  }

  /** New tokens a QA set's answers get: the longest true answer + 8, at most 64. */
  private async answerBudget(items: Record<string, unknown>[]): Promise<number> {
    const lens = await Promise.all(items.map(async (it) => (await this.s.tok.encode(String(it.answer))).length));
    return Math.min(64, Math.max(...lens) + 8);
  }

  private timed<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = Date.now();
    return Promise.resolve(fn()).then((v) => {
      const seconds = (Date.now() - t0) / 1000;
      this.s.log(`[eval ${this.s.label}] ${what} (${seconds.toFixed(1)} s)`);
      this.s.charge?.(what.split(':')[0]!, seconds);
      return v;
    });
  }

  /**
   * Statistics of a set's true answers, in batches of these sequences only: a model scored against
   * itself as the reference model gets bit-identical numbers (the same batch shapes, so the same
   * BLAS kernels and summation order), whatever the CPU's kernels (mia_reference's AUC is then 0.5).
   */
  private trueAnswerStats(model: CausalLM, set: string, seqs: readonly EncodedSeq[]): SeqStat[] {
    return sequenceStats(model, seqs, { vocabStats: set === 'forget' || set === 'holdout', batchSize: this.s.batchSize });
  }

  private async computeNeed(n: Need): Promise<unknown> {
    switch (n.kind) {
      case 'stats': {
        const enc = await this.encodeSet(n.set);
        const others: EncodedSeq[] = [...enc.para.filter((x): x is EncodedSeq => x !== null), ...enc.pert.flat()];
        const vocabStats = n.set === 'forget' || n.set === 'holdout';
        const [truth, stats] = await this.timed(
          `token statistics of ${n.set}: ${enc.true.length} items, ${enc.true.length + others.length} sequences`,
          () =>
            [
              this.trueAnswerStats(this.s.model, n.set, enc.true),
              sequenceStats(this.s.model, others, { vocabStats, batchSize: this.s.batchSize }),
            ] as const,
        );
        let at = 0;
        const out: ItemStats[] = enc.true.map((_, k) => ({ true: truth[k]!, text: enc.texts[k]! }));
        enc.para.forEach((p, k) => {
          if (p) out[k]!.para = stats[at++]!;
        });
        enc.pert.forEach((ps, k) => {
          if (ps.length) out[k]!.pert = ps.map(() => stats[at++]!);
        });
        return out;
      }
      case 'generations': {
        const s = this.s.set(n.set);
        if (s.kind === 'qa') {
          const maxNew = await this.answerBudget(s.items);
          return this.timed(`greedy answers on ${n.set}: ${s.items.length} questions, up to ${maxNew} tokens`, () =>
            greedyAnswers(
              this.s.model,
              this.s.tok,
              s.items.map((it) => String(it.question)),
              { format: this.s.format, maxNewTokens: maxNew, batchSize: this.s.batchSize },
            ),
          );
        }
        if (s.kind === 'probe') {
          const maxNew = n.set === 'familiarity_completion' ? 32 : 48;
          return this.timed(`greedy continuations on ${n.set}: ${s.items.length} prompts, ${maxNew} tokens`, () =>
            greedyContinuations(
              this.s.model,
              this.s.tok,
              s.items.map((it) => String(it.prompt)),
              { maxNewTokens: maxNew, batchSize: this.s.batchSize },
            ),
          );
        }
        throw new LetheError('BAD_INPUT', `generations need QA or probe items; '${n.set}' holds ${s.kind} items`);
      }
      case 'samples': {
        const s = this.s.set(n.set);
        if (s.kind !== 'qa') throw new LetheError('BAD_INPUT', `sampled answers need QA items; '${n.set}' holds ${s.kind} items`);
        const maxNew = await this.answerBudget(s.items);
        const out: string[][] = [];
        for (const seed of n.seeds) {
          out.push(
            await this.timed(
              `sampled answers on ${n.set} (temperature ${n.temperature}, seed ${seed}): ${s.items.length} questions, up to ${maxNew} tokens`,
              () =>
                sampledAnswers(
                  this.s.model,
                  this.s.tok,
                  s.items.map((it) => String(it.question)),
                  { format: this.s.format, maxNewTokens: maxNew, temperature: n.temperature, seed, batchSize: this.s.batchSize },
                ),
            ),
          );
        }
        return out;
      }
      case 'gradNorm': {
        const enc = await this.encodeSet(n.set);
        return this.timed(`gradient norms on ${n.set}: ${enc.true.length} items`, () => gradientNorms(this.s.model, enc.true, 2));
      }
      case 'lens': {
        const enc = await this.encodeSet(n.set);
        return this.timed(`logit lens of ${n.set}: ${enc.true.length} items`, () =>
          lensLogProbs(this.s.model, enc.true, { batchSize: this.s.batchSize }),
        );
      }
      case 'features': {
        const enc = await this.encodeSet(n.set);
        return this.timed(`hidden-state features of ${n.set}: ${enc.true.length} items`, () =>
          answerFeatures(this.s.model, enc.true, { batchSize: this.s.batchSize }),
        );
      }
      case 'reference': {
        const ref = this.s.reference();
        if (!ref) throw new LetheError('BAD_INPUT', 'no reference model');
        const enc = await this.encodeSet(n.set);
        const refModel = ensureLoaded(ref);
        return this.timed(`reference-model statistics of ${n.set}`, () => this.trueAnswerStats(refModel, n.set, enc.true));
      }
      case 'referenceNll': {
        const ref = this.s.reference();
        if (!ref) throw new LetheError('BAD_INPUT', 'no reference model');
        const gens = (await this.get({ kind: 'generations', set: n.set })) as string[];
        const refModel = ensureLoaded(ref);
        const refTok = ref.tok ?? this.s.tok;
        const seqs: (EncodedSeq | null)[] = await Promise.all(
          gens.map(async (g) => {
            if (!g.trim()) return null;
            const e = await encodeText(refTok, g, refModel.config.maxPositionEmbeddings);
            return e.ids.length >= 2 ? e : null;
          }),
        );
        const ok = seqs.filter((x): x is EncodedSeq => x !== null);
        const st = await this.timed(`reference-model NLL of ${ok.length} generations on ${n.set}`, () =>
          sequenceStats(refModel, ok, { batchSize: this.s.batchSize }),
        );
        let at = 0;
        return seqs.map((s) => (s ? avgLoss(st[at++]!) : null));
      }
      case 'mc': {
        const s = this.s.set(n.set);
        return this.timed(`multiple-choice log-likelihoods on ${n.set}: ${s.items.length} items`, () =>
          scoreItems(this.s.model, this.s.tok, s.items as unknown as McItem[]),
        );
      }
      case 'shadows': {
        const spec = this.s.shadows?.();
        if (!spec) throw new LetheError('BAD_INPUT', 'no shadow models (--mia lira --shadows K --shadow-base DIR)');
        const sets = { forget: this.s.set('forget'), holdout: this.s.set('holdout') };
        const seqs = { forget: (await this.encodeSet('forget')).true, holdout: (await this.encodeSet('holdout')).true };
        return this.timed(
          `shadow models: ${spec.count}, on ${sets.forget.items.length + sets.holdout.items.length} candidate records`,
          () =>
            shadowLosses(spec, {
              sets,
              seqs,
              format: this.s.format,
              cacheDir: this.s.cacheDir ?? null,
              batchSize: this.s.batchSize,
              log: this.s.log,
            }),
        );
      }
      case 'metric':
        return this.s.metric(n.name);
      case 'retain':
      case 'target':
        return this.s.other(n.kind, n.name);
    }
  }

  get(n: Need): Promise<unknown> {
    const key = needKey(n);
    let p = this.needs.get(key);
    if (!p) {
      p = this.computeNeed(n);
      this.needs.set(key, p);
    }
    return p;
  }
}
