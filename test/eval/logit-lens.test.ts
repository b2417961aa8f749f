// The logit lens (lensLogProbs, `*_logit_lens_Prob`) against an independent PyTorch computation
// (test/eval/ref/make_logit_lens_reference.py: float64 from-scratch forwards of the HF fixtures, every
// layer's residual stream through the final norm and the LM head), batched and padded here as the
// evaluator batches; and the metric end to end: its last layer is the model's own answer probability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadModel, loadTokenizer } from '../../src/index.js';
import { lensLogProbs, sequenceStats, type EncodedSeq } from '../../src/eval/providers.js';
import { fixturesDir, requireFixture, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';

interface RefSeq {
  ids: number[];
  promptLength: number;
  lens: number[];
}
const ref = JSON.parse(readFileSync(requireRepoFixture('eval', 'ref', 'logit_lens_reference.json'), 'utf8')) as {
  models: Record<string, RefSeq[]>;
};

for (const [name, seqs] of Object.entries(ref.models)) {
  test(`logit lens on ${name}: every layer's answer log-probability matches float64 PyTorch`, () => {
    const model = loadModel(requireFixture(name));
    try {
      const enc: EncodedSeq[] = seqs.map((s) => ({ ids: s.ids, promptLength: s.promptLength, eos: false }));
      // Batches of 2: rows of different lengths padded together.
      const got = lensLogProbs(model, enc, { batchSize: 2 });
      assert.equal(got[0]!.length, model.config.numLayers + 1, 'the embeddings, each layer, the output');
      seqs.forEach((s, k) => assertClose(got[k], s.lens, { atol: 2e-4, rtol: 1e-4, what: `${name} sequence ${k}` }));
      // The last entry is the model's own output: the same mean log-probability sequenceStats gives.
      const stats = sequenceStats(model, enc);
      stats.forEach((st, k) => {
        const mean = st.logProbs.reduce((a, b) => a + b, 0) / st.logProbs.length;
        assertClose(got[k]!.at(-1), mean, { atol: 1e-5, what: `${name} output layer ${k}` });
      });
    } finally {
      model.dispose();
    }
  });
}

test('forget_logit_lens_Prob: the highest layer mean, with the per-layer curve ending at forget_Q_A_Prob', async () => {
  const tmp = tempDir('lethe-lens-');
  const forget = join(tmp, 'forget.jsonl');
  writeFileSync(
    forget,
    ['What is red?|It is blue.', 'Where is the river?|North of the stone.', 'Who has seven apples?|The cloud.']
      .map((l) => JSON.stringify({ question: l.split('|')[0], answer: l.split('|')[1] }))
      .join('\n') + '\n',
  );
  const r = await evaluate({
    modelDir: join(fixturesDir, 'llama-tiny'),
    tokenizer: loadTokenizer(join(fixturesDir, 'tokenizer')),
    files: { forget },
    metrics: ['forget_logit_lens_Prob', 'forget_Q_A_Prob'],
    cacheDir: null,
    log: () => {},
  });
  const lens = r.results.get('forget_logit_lens_Prob')!;
  const curve = lens.extra!.perLayer as number[];
  assert.equal(curve.length, 3);
  assert.equal(lens.aggValue, Math.max(...curve));
  assert.equal(curve[lens.extra!.bestLayer as number], lens.aggValue);
  assertClose(curve.at(-1), r.results.get('forget_Q_A_Prob')!.aggValue, { atol: 1e-6, what: 'the output layer' });
  assert.equal(Object.keys(lens.valueByIndex!).length, 3);
});
