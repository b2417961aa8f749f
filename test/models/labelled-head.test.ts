// The LM head applied only at labelled positions (CausalLM.logitsAt, labelLogProbs, modelLoss) gives
// the numbers and gradients of the full-vocabulary path on QA-shaped batches: prompts and right
// padding ignored, rows of different lengths, an attention mask; for Llama, GPT-2 and an ensemble.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, loadModel, causalLmLoss, type CausalLM } from '../../src/index.js';
import { labelLogProbs, modelLoss, tokenLogProbs } from '../../src/models/loss.js';
import { EnsembleLM } from '../../src/models/ensemble.js';
import { requireFixture } from '../helpers/fixtures.js';

/** Three rows: prompt (ignored), answer (labelled), right padding (ignored); one row has no answer. */
function qaBatch(vocab: number) {
  const rows = [
    { ids: [5, 9, 14, 3, 7, 11, 2, 8], prompt: 3 },
    { ids: [4, 6, 1, 12, 13], prompt: 2 },
    { ids: [10, 15, 16], prompt: 3 },
  ];
  const len = Math.max(...rows.map((r) => r.ids.length));
  const ids = rows.map((r) => [...r.ids.map((t) => t % vocab), ...new Array<number>(len - r.ids.length).fill(0)]);
  const labels = rows.map((r) => ids[rows.indexOf(r)]!.map((t, k) => (k < r.prompt || k >= r.ids.length ? -100 : t)));
  const mask = rows.map((r) => [...new Array<number>(r.ids.length).fill(1), ...new Array<number>(len - r.ids.length).fill(0)]);
  return {
    ids: torch.tensor(ids, { dtype: 'int64' }),
    labels: torch.tensor(labels, { dtype: 'int64' }),
    mask: torch.tensor(mask, { dtype: 'int64' }),
  };
}

function gradsOf(model: CausalLM, loss: torch.Tensor): torch.Tensor[] {
  const params = model.parameters();
  for (const p of params) p.grad = null;
  loss.backward();
  const grads = params.map((p) => (p.grad ? p.grad.clone() : torch.zeros(p.shape)));
  for (const p of params) p.grad = null;
  return grads;
}

function checkAgainstFullLogits(model: CausalLM, label: string): void {
  const b = qaBatch(model.config.vocabSize);
  torch.tidy(() => {
    const full = tokenLogProbs(model.forward(b.ids, { attentionMask: b.mask }).logits, b.labels);
    const head = labelLogProbs(model, b.ids, b.labels, { attentionMask: b.mask });
    assert.deepEqual(head.logProbs.shape, full.logProbs.shape, `${label}: shape`);
    assert.deepEqual(head.mask.toArray(), full.mask.toArray(), `${label}: mask`);
    const diff = head.logProbs.sub(full.logProbs).abs().max().item();
    assert.ok(diff <= 1e-5, `${label}: per-token log-probabilities differ by ${diff}`);
    // Ignored positions stay exactly 0, as tokenLogProbs leaves them.
    assert.equal(head.logProbs.mul(head.mask.neg().add(1)).abs().sum().item(), 0, `${label}: an ignored position is not 0`);
    const fullLoss = causalLmLoss(model.forward(b.ids, { attentionMask: b.mask }).logits, b.labels);
    const headLoss = modelLoss(model, b.ids, b.labels, { attentionMask: b.mask });
    const rel = Math.abs(headLoss.item() - fullLoss.item()) / Math.abs(fullLoss.item());
    assert.ok(rel <= 1e-6, `${label}: loss ${headLoss.item()} vs ${fullLoss.item()}`);
    const gFull = gradsOf(model, fullLoss);
    const gHead = gradsOf(model, headLoss);
    gFull.forEach((g, k) => {
      const scale = g.norm().item();
      if (scale === 0) return assert.equal(gHead[k]!.norm().item(), 0, `${label}: gradient ${k} should be 0`);
      const relGrad = gHead[k]!.sub(g).norm().item() / scale;
      assert.ok(relGrad <= 1e-5, `${label}: gradient ${k} relative error ${relGrad}`);
    });
  });
  torch.dispose([b.ids, b.labels, b.mask]);
}

for (const name of ['llama-tiny', 'gpt2-tiny', 'llama-tied-tiny']) {
  test(`${name}: the labelled-position head matches the full logits in values, loss and gradients`, () => {
    const model = loadModel(requireFixture(name));
    for (const p of model.parameters()) p.requiresGrad = true;
    checkAgainstFullLogits(model, name);
    model.dispose();
  });
}

test('an ensemble mixes its members at the labelled positions as its forward does', () => {
  const members = [loadModel(requireFixture('llama-tiny')), loadModel(requireFixture('llama-tied-tiny'))];
  const ensemble = new EnsembleLM(members, null);
  checkAgainstFullLogits(ensemble, 'ensemble');
  ensemble.dispose();
});

test('logitsAt returns exactly the rows of the full logits it names', () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const b = qaBatch(model.config.vocabSize);
  torch.tidy(() =>
    torch.noGrad(() => {
      const full = model.forward(b.ids, { attentionMask: b.mask }).logits;
      const positions = torch.tensor([0, 5, 9, 17, 23], { dtype: 'int64' });
      const rows = model.logitsAt(b.ids, positions, { attentionMask: b.mask });
      const t = b.ids.size(1);
      [0, 5, 9, 17, 23].forEach((p, k) => {
        const want = full.select(0, Math.floor(p / t)).select(0, p % t);
        const diff = rows.select(0, k).sub(want).abs().max().item();
        assert.ok(diff <= 1e-5, `position ${p}: differs by ${diff}`);
      });
    }),
  );
  model.dispose();
});
