// The recipe search's criterion against sklearn/numpy references (ref/make_search_criterion_reference.py):
// the LOSS and Min-K% attack AUCs of forget against holdout, the Min-K% token selection, the
// probability ratio; that it is two-sided (AUC 0.2 scores as 0.8 does); that utility constraints
// rank every infeasible evaluation after every feasible one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import {
  forgetQualityScore,
  FQ_LOG_CAP,
  membershipTerms,
  twoSidedScore,
  utilityTerms,
  type MembershipTerms,
} from '../../src/eval/search-criterion.js';
import { minK, type SeqStat } from '../../src/eval/scores.js';

interface Case {
  name: string;
  forget: number[][];
  holdout: number[][];
  min_k: number[];
  auc_loss: number;
  auc_mink: number;
  forget_prob: number;
  holdout_prob: number;
  prob_ratio: number;
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval', 'ref', 'search_criterion_reference.json'), 'utf8')) as {
  k: number;
  cases: Case[];
};
// The reference rows end with an appended EOS, as the evaluator encodes QA answers.
const stat = (logProbs: number[]): SeqStat => ({ logProbs, hits: logProbs.map(() => false), eos: true });

test('search criterion: AUCs (LOSS, Min-K%), Min-K% selection and the probability ratio match sklearn/numpy', () => {
  for (const c of ref.cases) {
    const rows = [...c.forget, ...c.holdout];
    rows.forEach((r, k) => assertClose(minK(stat(r), ref.k), c.min_k[k]!, { atol: 1e-12, what: `${c.name} min-k row ${k}` }));
    const t = membershipTerms(c.forget.map(stat), c.holdout.map(stat));
    assertClose(t.auc_loss, c.auc_loss, { atol: 1e-12, what: `${c.name} auc_loss` });
    assertClose(t.auc_mink, c.auc_mink, { atol: 1e-12, what: `${c.name} auc_mink` });
    assertClose(t.forget_prob, c.forget_prob, { rtol: 1e-12, what: `${c.name} forget_prob` });
    assertClose(t.holdout_prob, c.holdout_prob, { rtol: 1e-12, what: `${c.name} holdout_prob` });
    assertClose(t.prob_ratio, c.prob_ratio, { rtol: 1e-9, what: `${c.name} prob_ratio` });
    assertClose(t.mia, Math.max(Math.abs(c.auc_loss - 0.5), Math.abs(c.auc_mink - 0.5)), { atol: 1e-12, what: `${c.name} mia` });
  }
});

test('search criterion: two-sided — over-forgetting (AUC 0.2) scores as badly as under-forgetting (AUC 0.8)', () => {
  // Swapping the roles of the two sets mirrors every AUC (a → 1 − a) and inverts the probability ratio.
  const members = ref.cases.find((c) => c.name === 'members')!;
  const under = membershipTerms(members.forget.map(stat), members.holdout.map(stat));
  const over = membershipTerms(members.holdout.map(stat), members.forget.map(stat));
  assert.ok(under.auc_loss > 0.8 && over.auc_loss < 0.2, `${under.auc_loss} / ${over.auc_loss}`);
  assertClose(over.mia, under.mia, { atol: 1e-12, what: 'mia' });
  assertClose(twoSidedScore(over, 0), twoSidedScore(under, 0), { atol: 1e-12, what: 'score' });
  // And by hand: one holdout row above 4 of 5 forget rows' losses (AUC 0.8) or above 1 of them (0.2).
  const rows = (xs: number[]) => xs.map((x) => stat([-x, -1]));
  const f = rows([1, 2, 3, 4, 6]);
  const high = membershipTerms(f, rows([5]));
  const low = membershipTerms(f, rows([1.5]));
  assert.deepEqual([high.auc_loss, high.auc_mink, low.auc_loss, low.auc_mink], [0.8, 0.8, 0.2, 0.2]);
  assertClose(high.mia, 0.3, { atol: 1e-12, what: 'mia at 0.8' });
  assertClose(low.mia, 0.3, { atol: 1e-12, what: 'mia at 0.2' });
});

test('search criterion: a model that cannot tell forget from holdout scores best (0), a fully separated one 0.5 + the ratio term', () => {
  const alike = [stat([-1, -2, -3]), stat([-2, -1, -3])];
  const same = membershipTerms(alike, alike);
  assert.equal(same.auc_loss, 0.5);
  assert.equal(same.auc_mink, 0.5);
  assert.equal(twoSidedScore(same, 0), 0);
  const apart = membershipTerms([stat([-0.1, -0.1])], [stat([-3, -3])]);
  assert.equal(apart.mia, 0.5);
  assertClose(twoSidedScore(apart, 0), 0.5 + 0.1 * 2.9, { atol: 1e-12, what: 'score' });
});

test('search criterion: utility constraints — any infeasible evaluation ranks after every feasible one, by the size of the violation', () => {
  const base = { retainProb: 0.8, generalNll: 4 };
  const kept = utilityTerms(0.8 * 0.95, 4 * 1.03, base);
  assert.equal(kept.violation, 0, 'exactly at the limits is feasible');
  const retainLow = utilityTerms(0.8 * 0.9, 4, base);
  assertClose(retainLow.violation!, 0.05, { atol: 1e-12, what: 'retain violation' });
  const nllHigh = utilityTerms(0.8, 4 * 1.1, base);
  assertClose(nllHigh.violation!, 0.07, { atol: 1e-12, what: 'general-text violation' });
  assertClose(utilityTerms(0.8, null, { retainProb: 0.8, generalNll: null }).violation!, 0, { atol: 0, what: 'no general text' });
  // The worst feasible evaluation (fully separated, huge ratio) against the mildest infeasible one.
  const worst: MembershipTerms = { auc_loss: 1, auc_mink: 1, mia: 0.5, forget_prob: 0.9, holdout_prob: 1e-9, prob_ratio: 20 };
  const best: MembershipTerms = { auc_loss: 0.5, auc_mink: 0.5, mia: 0, forget_prob: 0.1, holdout_prob: 0.1, prob_ratio: 0 };
  assert.ok(twoSidedScore(worst, 0) <= 1);
  assert.ok(twoSidedScore(best, 1e-6) > twoSidedScore(worst, 0), 'infeasible after feasible');
  assert.ok(twoSidedScore(best, 0.2) > twoSidedScore(best, 0.1), 'a larger violation ranks later');
  // Benchmark mode: the same rule above its own ceiling.
  assert.equal(forgetQualityScore(1, 0), 0);
  assertClose(forgetQualityScore(1e-3, 0), 3, { atol: 1e-12, what: '-log10 p' });
  assert.equal(forgetQualityScore(1e-200, 0), FQ_LOG_CAP);
  assert.ok(forgetQualityScore(1, 0.01) > forgetQualityScore(1e-300, 0));
});
