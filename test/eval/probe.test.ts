// The linear probe's logistic regression (src/eval/probe.ts) against scikit-learn's LogisticRegression
// (test/eval/ref/make_probe_reference.py): the same coefficients, intercept and probabilities on a
// noisy, a strongly regularised, a wide (more features than rows) and a separable case; then the
// probe metrics end to end on a fixture model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadTokenizer } from '../../src/index.js';
import { fitLogistic, predictLogistic } from '../../src/eval/probe.js';
import { fixturesDir, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';

interface Case {
  name: string;
  C: number;
  X: number[][];
  y: number[];
  coef: number[];
  intercept: number;
  proba: number[];
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval', 'ref', 'probe_reference.json'), 'utf8')) as { cases: Case[] };

for (const c of ref.cases) {
  test(`logistic regression, ${c.name} (${c.X.length} rows × ${c.X[0]!.length}, C ${c.C}): scikit-learn's optimum`, () => {
    const m = fitLogistic(c.X, c.y, { C: c.C });
    assert.ok(m.converged, `converged in ${m.iterations} iterations`);
    assertClose(m.w, c.coef, { atol: 1e-5, rtol: 1e-4, what: `${c.name} coef` });
    assertClose(m.b, c.intercept, { atol: 1e-5, rtol: 1e-4, what: `${c.name} intercept` });
    assertClose(predictLogistic(m, c.X), c.proba, { atol: 1e-6, rtol: 1e-5, what: `${c.name} P(y=1)` });
  });
}

test('forget_probe_fit on the target, forget_probe_Prob on a model: the target read by its own probe, and null without a target', async () => {
  const tmp = tempDir('lethe-probe-');
  const words = ['red', 'blue', 'green', 'river', 'stone', 'paper', 'north', 'seven', 'apple', 'cloud'];
  const rows = (from: number) =>
    Array.from({ length: 10 }, (_, k) => ({
      question: `What is ${words[(from + k) % 10]} ${words[(from + 3 * k) % 10]}?`,
      answer: `It is ${words[(from + 7 * k + 1) % 10]} and ${words[(from + k + 5) % 10]}.`,
    }));
  const files = { forget: join(tmp, 'forget.jsonl'), holdout: join(tmp, 'holdout.jsonl') };
  writeFileSync(
    files.forget,
    rows(0)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  writeFileSync(
    files.holdout,
    rows(4)
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  );
  const modelDir = join(fixturesDir, 'llama-tiny');
  const common = { modelDir, tokenizer: loadTokenizer(join(fixturesDir, 'tokenizer')), files, cacheDir: null, log: () => {} };
  const r = await evaluate({ ...common, targetModelDir: modelDir, metrics: ['forget_probe_Prob'] });
  const probe = r.results.get('forget_probe_Prob')!;
  const { perLayer, holdoutPerLayer, bestLayer } = probe.extra as { perLayer: number[]; holdoutPerLayer: number[]; bestLayer: number };
  assert.equal(perLayer.length, 3, 'the embeddings, one layer, the output');
  assert.equal(probe.aggValue, perLayer[bestLayer]);
  // The model is the target: its probe was fitted on these very features, forget = 1, holdout = 0.
  assert.ok(perLayer[bestLayer]! > holdoutPerLayer[bestLayer]!, `forget ${perLayer[bestLayer]} > holdout ${holdoutPerLayer[bestLayer]}`);
  assert.equal(Object.keys(probe.valueByIndex!).length, 10);
  const none = await evaluate({ ...common, metrics: ['forget_probe_Prob'] });
  assert.equal(none.results.get('forget_probe_Prob')!.aggValue, null);
  assert.match(none.results.get('forget_probe_Prob')!.reason!, /--target-model/);
});
