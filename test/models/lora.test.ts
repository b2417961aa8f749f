import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel, causalLmLoss, type CausalLM } from '../../src/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

const ids = () =>
  torch.tensor([
    [3, 14, 15, 92, 65, 35, 89, 79],
    [2, 71, 82, 81, 82, 84, 59, 4],
  ]);
const logitsOf = (m: CausalLM, x: torch.Tensor) => torch.noGrad(() => m.forward(x).logits);

function trainSteps(model: CausalLM, x: torch.Tensor, steps: number): void {
  const opt = new torch.optim.AdamW(model.trainableParameters(), { lr: 1e-2, weightDecay: 0 });
  for (let k = 0; k < steps; k++) {
    torch.tidy(() => causalLmLoss(model.forward(x).logits, x).backward());
    opt.step();
    opt.zeroGrad();
  }
  opt.dispose();
}

const cases = [
  {
    name: 'llama-tiny',
    targets: ['q_proj', 'v_proj', 'down_proj'],
    sample: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
    fanInFanOut: false,
  },
  {
    name: 'gpt2-tiny',
    targets: ['c_attn', 'mlp.c_proj'],
    sample: 'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight',
    fanInFanOut: true,
  },
];

for (const c of cases) {
  test(`${c.name}: a trained LoRA adapter changes logits, saves in PEFT's layout, reloads and merges to the same logits`, () => {
    withTempDir('lethe-lora-', (dir) => {
      const model = loadModel(requireFixture(c.name));
      const x = ids();
      const before = logitsOf(model, x);
      const modules = model.addLora({ r: 4, loraAlpha: 8, loraDropout: 0, targetModules: c.targets });
      assert.ok(modules.length >= 2 * model.config.numLayers - 1, `adapters on ${modules.join(', ')}`);
      assert.equal(logitsOf(model, x).sub(before).abs().max().item(), 0, 'B = 0: a new adapter changes nothing');
      const trainable = model.trainableParameters();
      assert.equal(trainable.length, 2 * modules.length, 'only the adapters train');
      trainSteps(model, x, 5);
      const tuned = logitsOf(model, x);
      assert.ok(tuned.sub(before).abs().max().item() > 1e-3, 'training the adapter changed the logits');

      model.saveAdapter(join(dir, 'adapter'));
      const cfg = JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
      assert.equal(cfg.peft_type, 'LORA');
      assert.equal(cfg.r, 4);
      assert.equal(cfg.lora_alpha, 8);
      assert.deepEqual(cfg.target_modules, c.targets);
      assert.equal(cfg.fan_in_fan_out, c.fanInFanOut);
      const header = torch.readSafetensorsHeader(join(dir, 'adapter', 'adapter_model.safetensors'));
      assert.ok(
        header.entries.some((e) => e.name === c.sample),
        `PEFT tensor names (${header.entries[0]!.name}, ...)`,
      );
      assert.equal(header.entries.length, 2 * modules.length);

      const fresh = loadModel(requireFixture(c.name));
      fresh.loadAdapter(join(dir, 'adapter'));
      assert.equal(logitsOf(fresh, x).sub(tuned).abs().max().item(), 0, 'reloaded adapter: same logits');

      fresh.mergeLora();
      assert.equal(fresh.loras.size, 0);
      assert.ok(logitsOf(fresh, x).sub(tuned).abs().max().item() < 1e-5, 'merged: same logits');
      fresh.savePretrained(join(dir, 'merged'));
      const merged = loadModel(join(dir, 'merged'));
      assert.ok(logitsOf(merged, x).sub(tuned).abs().max().item() < 1e-5, 'merged and saved as a plain model: same logits');
      assert.ok(!existsSync(join(dir, 'merged', 'adapter_config.json')));
      torch.dispose([x, before, tuned]);
      for (const m of [model, fresh, merged]) m.dispose();
    });
  });
}

test('LoRA guards: unknown targets, saving an unmerged model, a second addLora, a bad adapter folder', () => {
  withTempDir('lethe-lora-', (dir) => {
    const model = loadModel(requireFixture('llama-tiny'));
    assert.throws(() => model.addLora({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['nope'] }), /match no linear module/);
    assert.throws(() => model.addLora({ r: 0, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'] }), /positive integer/);
    model.addLora({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: 'model\\.layers\\.0\\.self_attn\\.(q|k)_proj' });
    assert.equal(model.loras.size, 2, 'a regex string matches whole module names');
    assert.throws(() => model.addLora({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'] }), /already has LoRA/);
    assert.throws(() => model.savePretrained(join(dir, 'x')), /mergeLora/);
    assert.throws(() => model.saveAdapter(requireFixture('llama-tiny')), /never modifies an input model/);
    model.removeLora();
    assert.throws(() => model.loadAdapter(dir), /no adapter_config.json/);
    model.dispose();
  });
});

test('freeze and unfreeze by name pattern', () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const frozen = model.freeze('model.layers.0.**', /embed_tokens/);
  assert.ok(frozen.includes('model.embed_tokens.weight'));
  assert.ok(frozen.every((n) => n.startsWith('model.layers.0.') || n === 'model.embed_tokens.weight'));
  assert.equal(model.params.get('model.layers.1.mlp.up_proj.weight')!.requiresGrad, true);
  assert.equal(model.params.get('model.layers.0.mlp.up_proj.weight')!.requiresGrad, false);
  const x = ids();
  torch.tidy(() => causalLmLoss(model.forward(x).logits, x).backward());
  assert.equal(model.params.get('model.layers.0.mlp.up_proj.weight')!.grad, null, 'frozen: no gradient');
  assert.notEqual(model.params.get('model.layers.1.mlp.up_proj.weight')!.grad, null);
  model.unfreeze('model.layers.0.*.*.weight');
  assert.equal(model.params.get('model.layers.0.mlp.up_proj.weight')!.requiresGrad, true);
  assert.throws(() => model.freeze('no.such.*'), /no parameter name matches/);
  assert.equal(model.namedParameters()[0]![0], 'model.embed_tokens.weight', 'state-dict order');
  model.dispose();
});
