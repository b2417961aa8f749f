// KS test, ROC AUC and harmonic mean against scipy / sklearn outputs (fixtures made in Python).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ksTwoSample, kstwoSf, rocAuc, rocCurve, harmonicMean } from '../../src/eval/stats.js';
import { fixturesDir, repoRoot } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

const shared = JSON.parse(readFileSync(join(fixturesDir, 'stats.json'), 'utf8')) as {
  ks_2samp_scipy_default: { a: number[]; b: number[]; ks_stat: number; ks_pvalue: number }[];
  roc_auc: { scores: number[]; labels: number[]; auc: number }[];
};
const ours = JSON.parse(readFileSync(join(repoRoot, 'test/eval/ref/stats_reference.json'), 'utf8')) as {
  ks_2samp: { a: number[]; b: number[]; method: 'exact' | 'asymp'; ks_stat: number; ks_pvalue: number }[];
  kstwo_sf: { n: number; d: number; sf: number }[];
};

test('ks_2samp (method auto = exact here) matches scipy on ../shared/fixtures stats.json', () => {
  for (const [k, c] of shared.ks_2samp_scipy_default.entries()) {
    const r = ksTwoSample(c.a, c.b);
    assert.equal(r.method, 'exact');
    assertClose(r.statistic, c.ks_stat, { atol: 1e-12, what: `case ${k} statistic` });
    assertClose(r.pvalue, c.ks_pvalue, { atol: 1e-14, rtol: 1e-9, what: `case ${k} p-value (n=${c.a.length},${c.b.length})` });
  }
});

test('ks_2samp exact with unequal sizes far in the tail, and the asymptotic method, match scipy', () => {
  for (const [k, c] of ours.ks_2samp.entries()) {
    const r = ksTwoSample(c.a, c.b, c.method);
    assertClose(r.statistic, c.ks_stat, { atol: 1e-12, what: `case ${k} statistic` });
    // exact: lattice-path count. asymp: kstwo.sf(D, round(en)); where en·D² >= 2.2 we compute 2·smirnov exactly as
    // scipy does (or its Pomeranz sum for en <= 140, equal to 1e-6); below that, Kolmogorov's limit (documented, ~10%).
    const en = Math.round((c.a.length * c.b.length) / (c.a.length + c.b.length));
    const tail = c.method === 'exact' || en * r.statistic ** 2 >= 2.2;
    assertClose(r.pvalue, c.ks_pvalue, {
      atol: 1e-15,
      rtol: c.method === 'exact' ? 1e-8 : tail ? 1e-6 : 0.15,
      what: `case ${k} ${c.method} p-value (n=${c.a.length},${c.b.length})`,
    });
  }
  for (const c of ours.kstwo_sf) assertClose(kstwoSf(c.n, c.d), c.sf, { atol: 1e-300, rtol: 1e-6, what: `kstwo.sf(${c.d}, ${c.n})` });
});

test('a sample against itself: statistic 0, p-value 1 (forget quality of a model against itself)', () => {
  const a = [0.3, 0.1, 0.9, 0.5, 0.5];
  assert.deepEqual(ksTwoSample(a, [...a].reverse()), { statistic: 0, pvalue: 1, method: 'exact' });
});

test('roc_auc_score matches sklearn; the ROC curve ends at (1,1) and its trapezoid area is the AUC', () => {
  for (const [k, c] of shared.roc_auc.entries()) {
    const auc = rocAuc(c.scores, c.labels);
    assertClose(auc, c.auc, { atol: 1e-12, what: `roc case ${k}` });
    const roc = rocCurve(c.scores, c.labels);
    assert.equal(roc.fpr.at(-1), 1);
    assert.equal(roc.tpr.at(-1), 1);
    let area = 0;
    for (let i = 1; i < roc.fpr.length; i++) area += ((roc.fpr[i]! - roc.fpr[i - 1]!) * (roc.tpr[i]! + roc.tpr[i - 1]!)) / 2;
    assertClose(area, c.auc, { atol: 1e-12, what: `roc area ${k}` });
  }
  // Ties count one half: identical scores give 0.5.
  assert.equal(rocAuc([1, 1, 1, 1], [0, 1, 0, 1]), 0.5);
  assert.throws(() => rocAuc([1, 2], [1, 1]), /need both classes/);
});

test('harmonic mean as scipy.stats.hmean', () => {
  assertClose(harmonicMean([0.2, 0.5, 0.9, 0.35]), 4 / (1 / 0.2 + 1 / 0.5 + 1 / 0.9 + 1 / 0.35), { atol: 1e-15 });
  assert.equal(harmonicMean([0.5, 0]), 0);
});
