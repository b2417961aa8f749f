// Every Llama variant the loader claims, against a plain-PyTorch reference (test/models/ref/
// reference_models.py, itself checked against HF transformers' logits on the shared fixtures):
// Qwen2's q/k/v biases, Mistral, llama3 and linear RoPE scaling, an explicit head_dim,
// attention/MLP biases, float16 weights. Logits at positions 0.. and at 40.. (where RoPE scaling shows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, loadModel } from '../../src/index.js';
import { requireRepoFixture } from '../helpers/fixtures.js';

const VARIANTS: [string, (m: ReturnType<typeof loadModel>) => void][] = [
  ['qwen2-bias', (m) => assert.equal(m.config.qkvBias && !m.config.oBias, true)],
  ['mistral', (m) => assert.equal(m.config.numKvHeads, 1)],
  ['llama3-rope', (m) => assert.equal(m.config.ropeScaling.type, 'llama3')],
  ['linear-rope', (m) => assert.deepEqual(m.config.ropeScaling, { type: 'linear', factor: 4 })],
  ['head-dim', (m) => assert.equal(m.config.headDim, 12)],
  ['attn-mlp-bias', (m) => assert.ok(m.config.qkvBias && m.config.oBias && m.config.mlpBias)],
  ['fp16', (m) => assert.equal(m.dtype, 'float32')],
];
const TOL = 2e-5;

for (const [name, checkConfig] of VARIANTS) {
  test(`variant ${name}: logits match the PyTorch reference to ${TOL}`, () => {
    const dir = requireRepoFixture('models', 'ref', 'variants', name);
    const model = loadModel(dir);
    checkConfig(model);
    const { tensors: e } = torch.loadSafetensors(requireRepoFixture('models', 'ref', 'variants', name, 'expected.safetensors'));
    torch.tidy(() =>
      torch.noGrad(() => {
        const plain = model.forward(e.input_ids!).logits;
        const d0 = plain.sub(e.logits!).abs().max().item();
        assert.ok(d0 <= TOL, `${name}: logits max abs diff ${d0}`);
        const shifted = model.forward(e.input_ids!, { positionIds: e.position_ids_offset! }).logits;
        const d1 = shifted.sub(e.logits_offset!).abs().max().item();
        assert.ok(d1 <= TOL, `${name}: logits at positions 40.. max abs diff ${d1}`);
      }),
    );
    torch.dispose(e);
    model.dispose();
  });
}
