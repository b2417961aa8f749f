// The likelihood-ratio attack (LiRA, Carlini et al. 2022; U-LiRA, arXiv 2403.01218, for unlearning):
// per record, the scores of shadow models that trained on it (IN) and of those that did not (OUT) are
// fitted by one Gaussian each; the evaluated model's score on the record is then judged against them.
//   online:  Λ = log N(x; μ_in, σ_in) − log N(x; μ_out, σ_out)   (higher: looks trained on)
//   offline: p = P(OUT score ≥ x) = norm.sf(x; μ_out, σ_out √(1 + 1/n_out))   (one-sided; small: looks
//            trained on; the √ term is the uncertainty of μ_out, estimated from n_out shadows)
// The score is LiRA's logit-scaled confidence, log(p / (1 − p)) of p = exp(−mean token NLL), the
// length-normalised probability of the record's answer: the logit makes its spread across shadows close
// to Gaussian, where the loss itself is squeezed against 0 for memorised records.
import { LetheError } from '../util/errors.js';
import { normLogPdf, normLogSf } from './stats.js';

/** The smallest standard deviation a fit may have (shadows that agree exactly would give 0). */
export const MIN_SD = 1e-6;

/** log(p / (1 − p)) for p = exp(−loss), computed from the loss so that p near 1 keeps its digits. */
export function liraScore(meanNll: number): number {
  return -meanNll - Math.log(-Math.expm1(-meanNll));
}

export interface RecordFit {
  muIn: number;
  sdIn: number;
  muOut: number;
  sdOut: number;
  nIn: number;
  nOut: number;
}

const meanOf = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The unbiased variance (ddof 1): with the few shadows a side has, ddof 0 would halve it at n = 2. */
const varOf = (xs: readonly number[]) => {
  const m = meanOf(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

/**
 * Per record, the mean and standard deviation (ddof 1) of the IN and the OUT shadow scores.
 * `scores[r][s]` is shadow s's score on record r, `member[r][s]` whether s trained on r. With
 * `variance: 'global'` (LiRA's advice below ~64 shadows, where a per-record variance from a few scores
 * is noise) each side's σ is the root of the mean per-record variance, the means staying per record.
 */
export function fitRecords(scores: readonly number[][], member: readonly boolean[][], variance: 'record' | 'global'): RecordFit[] {
  const sides = scores.map((row, r) => {
    const inn = row.filter((_, s) => member[r]![s]);
    const out = row.filter((_, s) => !member[r]![s]);
    if (inn.length < 2 || out.length < 2)
      throw new LetheError('BAD_INPUT', `LiRA: record ${r} has ${inn.length} IN and ${out.length} OUT shadow scores (needs 2 of each)`);
    return { inn, out };
  });
  const globalIn = Math.sqrt(meanOf(sides.map((x) => varOf(x.inn))));
  const globalOut = Math.sqrt(meanOf(sides.map((x) => varOf(x.out))));
  return sides.map(({ inn, out }) => ({
    muIn: meanOf(inn),
    sdIn: Math.max(MIN_SD, variance === 'global' ? globalIn : Math.sqrt(varOf(inn))),
    muOut: meanOf(out),
    sdOut: Math.max(MIN_SD, variance === 'global' ? globalOut : Math.sqrt(varOf(out))),
    nIn: inn.length,
    nOut: out.length,
  }));
}

/** Online LiRA's statistic: the log likelihood ratio of IN over OUT at the score x. */
export function onlineStatistic(x: number, f: RecordFit): number {
  return normLogPdf(x, f.muIn, f.sdIn) - normLogPdf(x, f.muOut, f.sdOut);
}

/**
 * Offline LiRA's log p-value: log P(X ≥ x) for X a new OUT score. μ_out is itself estimated from
 * n_out shadows, so X − μ_out has variance σ_out² (1 + 1/n_out): with 2–4 OUT shadows per record,
 * leaving that out would make the p-values too small and flag records a model never saw.
 */
export function offlineLogP(x: number, f: RecordFit): number {
  return normLogSf(x, f.muOut, f.sdOut * Math.sqrt(1 + 1 / f.nOut));
}

/**
 * The true-positive rate at a false-positive rate calibrated on negatives (holdout records): the
 * threshold is the smallest one that flags at most ⌊fpr · n⌋ negatives (statistics above it count).
 */
export function tprAtFpr(
  positives: readonly number[],
  negatives: readonly number[],
  fpr: number,
): { tpr: number; identified: number; achievedFpr: number; threshold: number } {
  const sorted = [...negatives].sort((a, b) => b - a);
  const allowed = Math.floor(fpr * sorted.length);
  const threshold = allowed < sorted.length ? sorted[allowed]! : -Infinity;
  const identified = positives.filter((x) => x > threshold).length;
  return {
    tpr: identified / positives.length,
    identified,
    achievedFpr: negatives.filter((x) => x > threshold).length / negatives.length,
    threshold,
  };
}
