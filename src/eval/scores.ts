// Per-sequence scores from token statistics, as open-unlearning computes them (src/evals/metrics/
// memorization.py, mia/*.py). A SeqStat holds, for every labelled (answer) token, its log-probability,
// whether the argmax prediction hit it, and optionally the mean and variance of the log-probability
// under the full next-token distribution (for Min-K%++).
import { deflateSync } from 'node:zlib';
import { LetheError } from '../util/errors.js';

export interface SeqStat {
  /** log p(label_t | < t) for each labelled token, the appended EOS (if any) last. */
  logProbs: number[];
  /** argmax of the next-token distribution == label, per labelled token. */
  hits: boolean[];
  /** E_v[log p(v)] and Var_v[log p(v)] of the full next-token distribution, per labelled token (when asked for). */
  mu?: number[];
  sigma2?: number[];
  /** The last label is the EOS the encoder appended; token-wise scores leave it out ("ignore eos prediction"). */
  eos: boolean;
}

/** The token-wise view open-unlearning's tokenwise_logprobs gives: all labelled tokens but an appended EOS. */
export function tokenwise<T>(s: SeqStat, xs: T[]): T[] {
  return s.eos ? xs.slice(0, -1) : xs;
}

/** Mean NLL over every labelled token (EOS included), open-unlearning's avg_loss. */
export function avgLoss(s: SeqStat): number {
  if (!s.logProbs.length) return NaN;
  return -s.logProbs.reduce((a, b) => a + b, 0) / s.logProbs.length;
}

/** exp(-avg_loss): open-unlearning's "prob" (length-normalised answer probability). */
export function normalizedProb(s: SeqStat): number {
  return Math.exp(-avgLoss(s));
}

/** Mean of the lowest max(1, floor(k·n)) values (Min-K%: of log-probs; Min-K%++: of normalised scores). */
export function meanOfLowest(xs: readonly number[], k: number): number {
  if (!xs.length) return NaN;
  const n = Math.max(1, Math.floor(xs.length * k));
  const sorted = [...xs].sort((a, b) => a - b);
  let s = 0;
  for (let i = 0; i < n; i++) s += sorted[i]!;
  return s / n;
}

/** Min-K% Prob (Shi et al. 2023): mean of the lowest k-fraction of token log-probs (higher = more member-like). */
export function minK(s: SeqStat, k: number): number {
  return meanOfLowest(tokenwise(s, s.logProbs), k);
}

/** Min-K%++ (Zhang et al. 2024): the same over (log p − μ) / σ, σ² clamped at 1e-6 as open-unlearning does. */
export function minKPlusPlus(s: SeqStat, k: number): number {
  if (!s.mu || !s.sigma2) throw new LetheError('INTERNAL', 'Min-K%++ needs the next-token distribution statistics (mu, sigma2)');
  const lp = tokenwise(s, s.logProbs);
  const mu = tokenwise(s, s.mu);
  const sd = tokenwise(s, s.sigma2).map((v) => Math.sqrt(Math.max(v, 1e-6)));
  return meanOfLowest(
    lp.map((v, t) => (v - mu[t]!) / sd[t]!),
    k,
  );
}

/** Exact memorization (Tirumala et al.): share of answer tokens the argmax predicts; null without tokens. */
export function exactMemorization(s: SeqStat): number | null {
  const h = tokenwise(s, s.hits);
  return h.length ? h.filter(Boolean).length / h.length : null;
}

/**
 * Extraction strength (Carlini et al. 2021 as open-unlearning implements it): 1 − k/n for the
 * smallest k whose suffix preds[k:] equals labels[k:]. open-unlearning's loop leaves k = n − 1 when
 * no suffix matches, so the minimum is 1/n, not 0; we keep that for comparable numbers. Null without
 * tokens (as exactMemorization): an answer with nothing to extract is not "nothing extracted".
 */
export function extractionStrength(s: SeqStat): number | null {
  const h = tokenwise(s, s.hits);
  const n = h.length;
  if (!n) return null;
  let k = 0;
  for (; k < n; k++) {
    if (h.slice(k).every(Boolean)) break;
  }
  if (k === n) k = n - 1;
  return 1 - k / n;
}

/** zlib compressed length of the text in bytes (zlib level 6, as Python's zlib.compress). */
export function zlibLength(text: string): number {
  return deflateSync(Buffer.from(text, 'utf8'), { level: 6 }).length;
}

/** The zlib attack's score: avg_loss / zlib length of the answer text (higher = more holdout-like). */
export function zlibScore(s: SeqStat, text: string): number {
  return avgLoss(s) / zlibLength(text);
}

/**
 * Truth ratio per item. TOFU (and open-unlearning's default): P(pert) / P(para), each the
 * exp(−avg_loss) with the perturbed avg_loss averaged over the perturbations first.
 * open-unlearning's 'prob_mean' aggregator (added in late 2025, issue #160) instead scores
 * P(para) / (P(para) + P(pert)), the paper's written definition.
 */
export function truthRatio(correct: SeqStat, wrong: readonly SeqStat[], kind: 'ratio' | 'prob_mean' = 'ratio'): number {
  if (!wrong.length) throw new LetheError('BAD_INPUT', 'truth ratio needs at least one perturbed answer');
  const correctProb = Math.exp(-avgLoss(correct));
  const wrongProb = Math.exp(-wrong.reduce((a, w) => a + avgLoss(w), 0) / wrong.length);
  return kind === 'ratio' ? wrongProb / (correctProb + 1e-10) : correctProb / (correctProb + wrongProb + 1e-10);
}

export type TruthRatioAggregator = 'closer_to_1_better' | 'true_better' | 'prob_mean';

/** open-unlearning's aggregators of per-item truth ratios. */
export function aggregateTruthRatio(values: readonly number[], aggregator: TruthRatioAggregator): number {
  if (!values.length) return NaN;
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  if (aggregator === 'closer_to_1_better') return m(values.map((v) => Math.min(v, 1 / (v + 1e-10))));
  if (aggregator === 'true_better') return m(values.map((v) => Math.max(0, 1 - v)));
  return m([...values]);
}

/** Share of word n-grams that repeat an earlier n-gram of the same text (0 for texts shorter than n). */
export function repeatedNgramRate(text: string, n = 3): { repeated: number; total: number } {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  const seen = new Set<string>();
  let repeated = 0;
  let total = 0;
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(' ');
    total++;
    if (seen.has(g)) repeated++;
    else seen.add(g);
  }
  return { repeated, total };
}
