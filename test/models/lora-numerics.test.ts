// LoRA numerics against the formula computed here, independently of Lethe's adapter code:
// y = x Wᵀ + s · x Aᵀ Bᵀ with s = α/r (or α/√r with rsLoRA), i.e. the same model with
// W + s · B A written into the weight (Wᵀ + s · (B A)ᵀ for GPT-2's Conv1D); and the exact PEFT
// tensor names and shapes of adapter_model.safetensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel, type CausalLM } from '../../src/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

const ids = () =>
  torch.tensor([
    [3, 14, 15, 92, 65, 35, 89, 79],
    [2, 71, 82, 81, 82, 84, 59, 4],
  ]);
const logitsOf = (m: CausalLM, x: torch.Tensor) => torch.noGrad(() => m.forward(x).logits);

/** Fills every adapter's A and B with seeded random values (B is zero after init, which would hide the scale). */
function randomizeAdapters(model: CausalLM): void {
  torch.manualSeed(5);
  torch.noGrad(() => {
    for (const a of model.loras.values()) {
      torch.tidy(() => {
        a.a.copy_(torch.randn(a.a.shape).mul(0.3));
        a.b.copy_(torch.randn(a.b.shape).mul(0.3));
      });
    }
  });
}

const CASES = [
  { name: 'llama-tiny', targets: ['q_proj', 'v_proj', 'down_proj'], conv1d: false },
  { name: 'gpt2-tiny', targets: ['c_attn', 'mlp.c_proj'], conv1d: true },
];

for (const c of CASES) {
  for (const useRslora of [false, true]) {
    test(`${c.name}: LoRA output = base with W + ${useRslora ? 'α/√r' : 'α/r'} · B A (r 4, α 8)`, () => {
      const model = loadModel(requireFixture(c.name));
      const modules = model.addLora({ r: 4, loraAlpha: 8, loraDropout: 0, targetModules: c.targets, useRslora });
      randomizeAdapters(model);
      const scale = useRslora ? 8 / Math.sqrt(4) : 8 / 4;
      const reference = loadModel(requireFixture(c.name));
      const specs = model.linearModules();
      torch.noGrad(() => {
        for (const m of modules) {
          const { a, b } = model.loras.get(m)!;
          torch.tidy(() => {
            const delta = torch.matmul(b, a).mul(scale); // [out, in]
            reference.params.get(specs.get(m)!.weight)!.add_(c.conv1d ? delta.t() : delta);
          });
        }
      });
      const x = ids();
      torch.tidy(() => {
        const got = logitsOf(model, x);
        const want = logitsOf(reference, x);
        const base = logitsOf(loadModel(requireFixture(c.name)), x);
        assert.ok(want.sub(base).abs().max().item() > 0.1, 'the adapters matter');
        const diff = got.sub(want).abs().max().item();
        // Two fp32 paths (x·W + s·(x·Aᵀ)·Bᵀ against x·(W + s·B·A)) sum in different orders, and the order
        // depends on the BLAS kernel and thread count: measured up to 2.2e-5 (Sandybridge kernels, 1
        // thread). 1e-4 stays 1000× below what the adapters change (> 0.1), so a wrong scale still fails.
        assert.ok(diff < 1e-4, `LoRA logits vs W + s·BA: max abs diff ${diff}`);
      });
      model.dispose();
      reference.dispose();
      x.dispose();
    });
  }
}

test('PEFT layout: adapter_model.safetensors holds exactly base_model.model.<module>.lora_A.weight [r, in] and lora_B.weight [out, r]', () => {
  withTempDir('lethe-lora-layout-', (dir) => {
    const expected: Record<string, string[]> = {
      'llama-tiny': [0, 1].flatMap((i) => [
        `base_model.model.model.layers.${i}.mlp.down_proj.lora_A.weight:[4,128]`,
        `base_model.model.model.layers.${i}.mlp.down_proj.lora_B.weight:[64,4]`,
        `base_model.model.model.layers.${i}.self_attn.q_proj.lora_A.weight:[4,64]`,
        `base_model.model.model.layers.${i}.self_attn.q_proj.lora_B.weight:[64,4]`,
        `base_model.model.model.layers.${i}.self_attn.v_proj.lora_A.weight:[4,64]`,
        `base_model.model.model.layers.${i}.self_attn.v_proj.lora_B.weight:[32,4]`,
      ]),
      // GPT-2's Conv1D weights are [in, out], but PEFT's lora_A / lora_B are still nn.Linear: [r, in] and [out, r].
      'gpt2-tiny': [0, 1].flatMap((i) => [
        `base_model.model.transformer.h.${i}.attn.c_attn.lora_A.weight:[4,64]`,
        `base_model.model.transformer.h.${i}.attn.c_attn.lora_B.weight:[192,4]`,
        `base_model.model.transformer.h.${i}.mlp.c_proj.lora_A.weight:[4,256]`,
        `base_model.model.transformer.h.${i}.mlp.c_proj.lora_B.weight:[64,4]`,
      ]),
    };
    for (const c of CASES) {
      const model = loadModel(requireFixture(c.name));
      model.addLora({ r: 4, loraAlpha: 16, loraDropout: 0.05, targetModules: c.targets, useRslora: true });
      model.saveAdapter(join(dir, c.name));
      const header = torch.readSafetensorsHeader(join(dir, c.name, 'adapter_model.safetensors'));
      assert.deepEqual(header.entries.map((e) => `${e.name}:[${e.shape}]`).sort(), expected[c.name]!.sort(), c.name);
      assert.ok(header.entries.every((e) => e.dtype === 'float32'));
      const cfg = JSON.parse(readFileSync(join(dir, c.name, 'adapter_config.json'), 'utf8'));
      assert.deepEqual(
        {
          r: cfg.r,
          alpha: cfg.lora_alpha,
          dropout: cfg.lora_dropout,
          rslora: cfg.use_rslora,
          fanInFanOut: cfg.fan_in_fan_out,
          task: cfg.task_type,
        },
        { r: 4, alpha: 16, dropout: 0.05, rslora: true, fanInFanOut: c.conv1d, task: 'CAUSAL_LM' },
      );
      model.dispose();
    }
  });
});
