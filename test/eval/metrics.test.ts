// Per-item metric values against an independent PyTorch computation (test/eval/ref/make_eval_reference.py:
// a from-scratch Llama forward on the llama-tiny fixture, checked against HF's logits, then open-unlearning's
// formulas), and Min-K% / Min-K%++ against the HF fixtures' reference.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel } from '../../src/index.js';
import { sequenceStats, gradientNorms, type EncodedSeq } from '../../src/eval/providers.js';
import {
  avgLoss,
  normalizedProb,
  truthRatio,
  exactMemorization,
  extractionStrength,
  minK,
  minKPlusPlus,
  meanOfLowest,
  zlibScore,
  aggregateTruthRatio,
  repeatedNgramRate,
  zlibLength,
} from '../../src/eval/scores.js';
import { rocAuc, ksTwoSample } from '../../src/eval/stats.js';
import { quantizeModel, fakeQuantize } from '../../src/eval/quantize.js';
import { miaResult } from '../../src/eval/metrics/mia-common.js';
import { fixturesDir, repoRoot } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

interface RefItem {
  prompt: number[];
  answer: number[];
  para: number[];
  pert: number[][];
  no_eos?: boolean;
}
interface RefRow {
  avg_loss: number;
  prob: number;
  em: number;
  es: number;
  min_k: number;
  min_k_pp: number;
  gradnorm: number;
  para_prob: number;
  pert_prob: number[];
  truth_ratio: number;
  truth_ratio_prob_mean: number;
  zlib: number;
  text: string;
}
const ref = JSON.parse(readFileSync(join(repoRoot, 'test/eval/ref/eval_reference.json'), 'utf8')) as {
  forget_items: RefItem[];
  holdout_items: RefItem[];
  forget: RefRow[];
  holdout: RefRow[];
  auc: Record<string, number>;
  ks: { statistic: number; pvalue: number };
  aggregates: { forget_truth_ratio_closer_to_1_better: number; truth_ratio_true_better: number };
  quant: Record<'int8' | 'int4', { logits_row0_pos_last: number[]; q_proj0_abs_sum: number }>;
};

const seq = (prompt: number[], answer: number[], eos: boolean): EncodedSeq => ({
  ids: [...prompt, ...answer],
  promptLength: prompt.length,
  eos,
});

function itemStats(model: ReturnType<typeof loadModel>, items: RefItem[]) {
  const trues = items.map((it) => seq(it.prompt, it.answer, !it.no_eos));
  const paras = items.map((it) => seq(it.prompt, it.para, true));
  const perts = items.flatMap((it) => it.pert.map((p) => seq(it.prompt, p, true)));
  const all = sequenceStats(model, [...trues, ...paras, ...perts], { vocabStats: true, batchSize: 5 });
  let at = 2 * items.length;
  return { trues, rows: items.map((it, k) => ({ true: all[k]!, para: all[items.length + k]!, pert: it.pert.map(() => all[at++]!) })) };
}

test('answer probability, truth ratio, EM, ES, Min-K%(++), zlib and gradient norms match PyTorch per item; AUCs and KS match sklearn/scipy', () => {
  const model = loadModel(join(fixturesDir, 'llama-tiny'));
  try {
    const scores: Record<string, { f: number[]; h: number[] }> = {};
    const truth: Record<'f' | 'h', number[]> = { f: [], h: [] };
    for (const [side, items, rows] of [
      ['f', ref.forget_items, ref.forget],
      ['h', ref.holdout_items, ref.holdout],
    ] as const) {
      const { trues, rows: st } = itemStats(model, items);
      const grads = gradientNorms(model, trues, 2);
      st.forEach((s, k) => {
        const r = rows[k]!;
        const w = `${side}[${k}]`;
        assertClose(avgLoss(s.true), r.avg_loss, { rtol: 1e-5, what: `${w} avg_loss` });
        assertClose(normalizedProb(s.true), r.prob, { rtol: 1e-5, what: `${w} prob` });
        assertClose(normalizedProb(s.para), r.para_prob, { rtol: 1e-5, what: `${w} para prob` });
        assertClose(s.pert.map(normalizedProb), r.pert_prob, { rtol: 1e-5, what: `${w} pert probs` });
        assertClose(truthRatio(s.para, s.pert), r.truth_ratio, { rtol: 1e-5, what: `${w} truth ratio` });
        assertClose(truthRatio(s.para, s.pert, 'prob_mean'), r.truth_ratio_prob_mean, { rtol: 1e-5, what: `${w} truth ratio (prob_mean)` });
        assert.equal(exactMemorization(s.true), r.em, `${w} exact memorization`);
        assertClose(extractionStrength(s.true), r.es, { atol: 1e-12, what: `${w} extraction strength` });
        assertClose(-minK(s.true, 0.4), r.min_k, { rtol: 1e-5, what: `${w} min-k` });
        assertClose(-minKPlusPlus(s.true, 0.4), r.min_k_pp, { rtol: 1e-4, atol: 1e-5, what: `${w} min-k++` });
        // Node's bundled zlib (Chromium's fork) and Python's system zlib may differ by a few bytes on short texts (seen: 37 vs 39).
        const pyLength = r.avg_loss / r.zlib;
        assert.ok(Math.abs(zlibLength(r.text) - pyLength) <= 3.01, `${w}: zlib length ${zlibLength(r.text)}, Python's ${pyLength}`);
        assertClose(avgLoss(s.true) / Math.round(pyLength), r.zlib, { rtol: 1e-5, what: `${w} zlib score` });
        assertClose(zlibScore(s.true, r.text), r.zlib, { rtol: 0.1, what: `${w} zlib score with Node's zlib` });
        assertClose(grads[k]!, r.gradnorm, { rtol: 1e-4, what: `${w} gradient norm` });
        for (const [name, v] of [
          ['mia_loss', avgLoss(s.true)],
          ['mia_zlib', avgLoss(s.true) / Math.round(r.avg_loss / r.zlib)],
          ['mia_min_k', -minK(s.true, 0.4)],
          ['mia_min_k_plus_plus', -minKPlusPlus(s.true, 0.4)],
          ['mia_gradnorm', grads[k]!],
        ] as const) {
          (scores[name] ??= { f: [], h: [] })[side].push(v);
        }
        truth[side].push(truthRatio(s.para, s.pert));
      });
    }
    // forget[0]'s answer is the model's own greedy continuation: fully extractable.
    assert.equal(ref.forget[0]!.es, 1);
    for (const [name, s] of Object.entries(scores)) {
      const labels = [...s.f.map(() => 0), ...s.h.map(() => 1)];
      assertClose(rocAuc([...s.f, ...s.h], labels), ref.auc[name]!, { atol: 1e-12, what: `${name} AUC` });
    }
    const ks = ksTwoSample(truth.f, truth.h);
    assertClose(ks.statistic, ref.ks.statistic, { atol: 1e-12, what: 'KS statistic' });
    assertClose(ks.pvalue, ref.ks.pvalue, { rtol: 1e-9, what: 'KS p-value' });
    assertClose(aggregateTruthRatio(truth.f, 'closer_to_1_better'), ref.aggregates.forget_truth_ratio_closer_to_1_better, {
      rtol: 1e-5,
      what: 'closer_to_1_better',
    });
    assertClose(aggregateTruthRatio(truth.f, 'true_better'), ref.aggregates.truth_ratio_true_better, {
      rtol: 1e-5,
      atol: 1e-7,
      what: 'true_better',
    });
  } finally {
    model.dispose();
  }
});

test('Min-K% and Min-K%++ (k = 0.2) of the HF fixture sequences match reference.json', () => {
  for (const name of ['llama-tiny', 'gpt2-tiny', 'llama-tied-tiny']) {
    const r = JSON.parse(readFileSync(join(fixturesDir, name, 'reference.json'), 'utf8')) as {
      input_ids: number[][];
      'mink_0.2': number[];
      'minkpp_0.2': number[];
    };
    const model = loadModel(join(fixturesDir, name));
    try {
      const st = sequenceStats(
        model,
        r.input_ids.map((ids) => ({ ids, promptLength: 1, eos: false })),
        { vocabStats: true },
      );
      assertClose(
        st.map((s) => minK(s, 0.2)),
        r['mink_0.2'],
        { rtol: 1e-5, what: `${name} mink_0.2` },
      );
      assertClose(
        st.map((s) => minKPlusPlus(s, 0.2)),
        r['minkpp_0.2'],
        { rtol: 1e-4, atol: 1e-5, what: `${name} minkpp_0.2` },
      );
    } finally {
      model.dispose();
    }
  }
});

test('batching and padding do not change the statistics', () => {
  const model = loadModel(join(fixturesDir, 'llama-tiny'));
  try {
    const seqs = ref.forget_items.map((it) => seq(it.prompt, it.answer, true));
    const one = seqs.map((s) => sequenceStats(model, [s])[0]!);
    const batched = sequenceStats(model, seqs, { batchSize: 4 });
    batched.forEach((b, k) => assertClose(b.logProbs, one[k]!.logProbs, { atol: 1e-5, what: `seq ${k}` }));
  } finally {
    model.dispose();
  }
});

test('fake quantization (int8 per row, int4 per group of 32) matches PyTorch', () => {
  const model = loadModel(join(fixturesDir, 'llama-tiny'));
  const ids = torch.tensor([[37, 235, 396, 72, 255, 393, 203, 133, 335, 448, 144, 129, 460, 71, 237, 508]]);
  try {
    for (const mode of ['int8', 'int4'] as const) {
      const copy = loadModel(join(fixturesDir, 'llama-tiny'));
      try {
        const changed = quantizeModel(copy, mode);
        assert.ok(!changed.includes('lm_head.weight') && changed.length === 14, `${mode}: quantized ${changed.join(', ')}`);
        assertClose(copy.params.get('model.layers.0.self_attn.q_proj.weight')!.abs().sum().item(), ref.quant[mode].q_proj0_abs_sum, {
          rtol: 1e-5,
          what: `${mode} q_proj sum`,
        });
        const logits = torch.noGrad(() => copy.forward(ids).logits.select(1, 15).squeeze(0).toArray() as number[]);
        assertClose(logits, ref.quant[mode].logits_row0_pos_last, { atol: 2e-4, what: `${mode} logits` });
      } finally {
        copy.dispose();
      }
    }
    // int8 of a row [1, -0.5, 0.25]: scale 1/127.
    assertClose(fakeQuantize(torch.tensor([[1, -0.5, 0.25]], { dtype: 'float32' }), 'int8').toArray(), [[1, -64 / 127, 32 / 127]], {
      atol: 1e-7,
    });
  } finally {
    model.dispose();
    ids.dispose();
  }
});

test('hand-checked scores: lowest-k mean, extraction strength, exact memorization, repetition', () => {
  assert.equal(meanOfLowest([-1, -5, -3, -2, -4], 0.4), -4.5);
  assert.equal(meanOfLowest([-1, -5], 0.2), -5, 'at least one token');
  const s = (hits: boolean[], eos = false) => ({ logProbs: hits.map(() => 0), hits, eos });
  assert.equal(extractionStrength(s([false, true, true, true])), 0.75, 'suffix from 1 of 4 matches');
  assert.equal(extractionStrength(s([true, true, true, true])), 1);
  assert.equal(extractionStrength(s([true, true, true, false])), 0.25, "no suffix matches: open-unlearning's 1/n");
  assert.equal(extractionStrength(s([false, true, true, false], true)), 1 - 1 / 3, 'appended EOS left out');
  assert.equal(exactMemorization(s([true, false, true, false], true)), 2 / 3);
  assert.deepEqual(repeatedNgramRate('a b c a b c a b c'), { repeated: 4, total: 7 });
  assert.deepEqual(repeatedNgramRate('born in 1973'), { repeated: 0, total: 1 });
});

test("MIA convention (open-unlearning's): forget labelled 0, holdout 1, scores high = unseen, so a recognised forget set gives AUC 1", () => {
  const r = miaResult([0.5, 1, 1.5], [2, 3, 2.5, 4]);
  assert.equal(r.aggValue, 1);
  assert.equal(miaResult([2, 3], [0.5, 1]).aggValue, 0);
  assert.equal(miaResult([NaN], [1]).aggValue, null);
});
