// Parity with HF transformers 5.17 (../shared/fixtures/hf-reference): logits, masked logits,
// loss, gradients and greedy output; then the same for folders we saved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel, causalLmLoss, sequenceNll, type CausalLM } from '../../src/index.js';
import { labelLogProbs, modelLoss } from '../../src/models/loss.js';
import { requireFixture } from '../helpers/fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

const MODELS = ['gpt2-tiny', 'llama-tiny', 'llama-tied-tiny'];

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  loss_mean: number;
  nll_sum_per_row: number[];
  greedy_prompt: number[];
  greedy_output: number[];
}

async function checkParity(model: CausalLM, name: string, label: string): Promise<void> {
  const ref = JSON.parse(readFileSync(requireFixture(name, 'reference.json'), 'utf8')) as Reference;
  const { tensors: expected } = torch.loadSafetensors(requireFixture(name, 'reference.safetensors'));
  const ids = torch.tensor(ref.input_ids);
  const mask = torch.tensor(ref.attention_mask);
  torch.tidy(() => {
    const logits = torch.noGrad(() => model.forward(ids).logits);
    const diff = logits.sub(expected.logits!).abs().max().item();
    assert.ok(diff <= 1e-4, `${label}: logits max abs diff ${diff}`);
    const masked = torch.noGrad(() => model.forward(ids, { attentionMask: mask }).logits);
    const maskedDiff = masked.sub(expected.logits_masked!).abs().mul(mask.unsqueeze(-1)).max().item();
    assert.ok(maskedDiff <= 1e-4, `${label}: masked logits max abs diff ${maskedDiff} at mask=1 positions`);
    const nll = torch.noGrad(() => sequenceNll(logits, ids)).toArray() as number[];
    nll.forEach((v, k) =>
      assert.ok(
        Math.abs(v - ref.nll_sum_per_row[k]!) <= 1e-4 * Math.abs(ref.nll_sum_per_row[k]!),
        `${label}: nll row ${k} ${v} vs ${ref.nll_sum_per_row[k]}`,
      ),
    );
    // The same NLL with the LM head applied only at labelled positions (what training uses).
    const headNll = torch.noGrad(() => labelLogProbs(model, ids, ids).logProbs.sum(1).neg()).toArray() as number[];
    headNll.forEach((v, k) =>
      assert.ok(
        Math.abs(v - ref.nll_sum_per_row[k]!) <= 1e-4 * Math.abs(ref.nll_sum_per_row[k]!),
        `${label}: labelled-head nll row ${k} ${v}`,
      ),
    );
    const losses: [string, () => torch.Tensor][] = [
      ['full logits', () => causalLmLoss(model.forward(ids).logits, ids)],
      ['labelled head', () => modelLoss(model, ids, ids)],
    ];
    for (const [how, lossOf] of losses) {
      const loss = lossOf();
      const rel = Math.abs(loss.item() - ref.loss_mean) / Math.abs(ref.loss_mean);
      assert.ok(rel <= 1e-5, `${label} (${how}): loss ${loss.item()} vs ${ref.loss_mean} (rel ${rel})`);
      for (const p of model.parameters()) p.grad = null;
      loss.backward();
      let checked = 0;
      for (const [key, g] of Object.entries(expected)) {
        if (!key.startsWith('grad.')) continue;
        const param = model.params.get(key.slice(5));
        assert.ok(param, `${label}: no parameter ${key.slice(5)}`);
        const relGrad = param.grad!.sub(g).norm().item() / g.norm().item();
        assert.ok(relGrad <= 1e-4, `${label} (${how}): ${key} relative error ${relGrad}`);
        checked++;
      }
      assert.ok(checked >= 4, `${label}: only ${checked} gradients in the fixture`);
      for (const p of model.parameters()) p.grad = null;
    }
  });
  const out = await model.generate(torch.tensor([ref.greedy_prompt]), {
    maxNewTokens: ref.greedy_output.length - ref.greedy_prompt.length,
  });
  assert.deepEqual((out.toArray() as number[][])[0], ref.greedy_output, `${label}: greedy output`);
  torch.dispose([ids, mask, expected, out]);
}

for (const name of MODELS) {
  test(`${name}: logits, masked logits, loss, NLL, gradients and greedy output match HF transformers`, async () => {
    const model = loadModel(requireFixture(name));
    await checkParity(model, name, name);
    model.dispose();
  });

  test(`${name}: savePretrained → loadModel gives identical logits, HF's tensor names and layout, and parity`, async () => {
    await withTempDir(`lethe-save-${name}-`, async (dir) => {
      const model = loadModel(requireFixture(name));
      model.savePretrained(join(dir, 'saved'));
      const again = loadModel(join(dir, 'saved'));
      const ids = torch.tensor([[1, 5, 9, 200, 3]]);
      torch.tidy(() => {
        const a = torch.noGrad(() => model.forward(ids).logits);
        const b = torch.noGrad(() => again.forward(ids).logits);
        assert.equal(a.sub(b).abs().max().item(), 0, 'identical logits after a round trip');
      });
      const original = torch.readSafetensorsHeader(requireFixture(name, 'model.safetensors'));
      const saved = torch.readSafetensorsHeader(join(dir, 'saved', 'model.safetensors'));
      const layout = (h: typeof original) => h.entries.map((e) => `${e.name}:${e.dtype}:[${e.shape}]`).sort();
      assert.deepEqual(layout(saved), layout(original), 'same tensor names, dtypes and shapes as the HF file');
      assert.equal(saved.metadata.format, 'pt');
      const cfg = JSON.parse(readFileSync(join(dir, 'saved', 'config.json'), 'utf8'));
      const orig = JSON.parse(readFileSync(requireFixture(name, 'config.json'), 'utf8'));
      assert.deepEqual(cfg, orig, 'config.json written back as read');
      assert.deepEqual(
        readFileSync(join(dir, 'saved', 'generation_config.json'), 'utf8'),
        readFileSync(requireFixture(name, 'generation_config.json'), 'utf8'),
      );
      await checkParity(again, name, `${name} (saved)`);
      ids.dispose();
      model.dispose();
      again.dispose();
    });
  });
}
