// Quantization robustness (Zhang et al. 2024, "Catastrophic failure of LLM unlearning via quantization"):
// round the weights of a copy of the model and evaluate it again. Simulated ("fake") quantization:
// every linear layer's weight but the LM head (bitsandbytes also leaves lm_head alone) is replaced by
// its dequantized value —
//   int8: symmetric, per output row, scale = absmax / 127, values in [-127, 127];
//   int4: symmetric, per group of `groupSize` input weights of a row, scale = absmax / 7, values in [-8, 7].
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { buildModel } from '../models/load.js';
import { LetheError } from '../util/errors.js';

export type QuantizeMode = 'int8' | 'int4';

export const QUANTIZE_MODES: readonly QuantizeMode[] = ['int8', 'int4'];

export function checkQuantizeMode(mode: string): QuantizeMode {
  if (!(QUANTIZE_MODES as readonly string[]).includes(mode))
    throw new LetheError('BAD_INPUT', `--quantize must be one of ${QUANTIZE_MODES.join(', ')}, got '${mode}'`);
  return mode as QuantizeMode;
}

/** Fake-quantizes a weight [out, in] (rows = output channels); returns a new tensor. */
export function fakeQuantize(w: torch.Tensor, mode: QuantizeMode, groupSize = 32): torch.Tensor {
  return torch.tidy(() => {
    const [out, inF] = w.shape as [number, number];
    if (mode === 'int8') {
      const scale = w.abs().amax([-1], true).div(127).clamp(1e-12);
      return w.div(scale).round().clamp(-127, 127).mul(scale);
    }
    let g = groupSize;
    while (inF % g !== 0) g = g / 2; // a row shorter than or not divisible by the group: halve the group
    const grouped = w.reshape([out, inF / g, g]); // [out, groups, g]
    const scale = grouped.abs().amax([-1], true).div(7).clamp(1e-12);
    return grouped.div(scale).round().clamp(-8, 7).mul(scale).reshape([out, inF]);
  });
}

/** A deep copy of the model (its own parameter tensors). */
export function cloneModel(model: CausalLM): CausalLM {
  const params = new Map<string, torch.Tensor>();
  torch.noGrad(() => {
    for (const [name, t] of model.params) {
      const c = torch.keep(t.detach().clone());
      c.requiresGrad = true;
      params.set(name, c);
    }
  });
  return buildModel(model.config, params, model.sourceDir);
}

/** Quantizes the model's linear weights in place (see the file comment); returns the names changed. */
export function quantizeModel(model: CausalLM, mode: QuantizeMode, groupSize = 32): string[] {
  const done: string[] = [];
  torch.noGrad(() => {
    for (const [module, spec] of model.linearModules()) {
      if (module === 'lm_head' || done.includes(spec.weight)) continue;
      const w = model.params.get(spec.weight)!;
      torch.tidy(() => {
        const rows = spec.conv1d ? w.t() : w; // GPT-2's Conv1D stores [in, out]
        const q = fakeQuantize(rows, mode, groupSize);
        w.copy_(spec.conv1d ? q.t() : q);
      });
      done.push(spec.weight);
    }
  });
  return done;
}
