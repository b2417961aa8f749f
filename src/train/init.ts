// A freshly initialised model, as HF's _init_weights does for Llama: normal(0, initializer_range)
// for linear and embedding weights, ones for norms; seeded through libtorch's generator.
import * as torch from '../torch/index.js';
import { parseConfig } from '../models/config.js';
import { buildModel, expectedShapes } from '../models/load.js';
import type { CausalLM } from '../models/model.js';

export function initModel(rawConfig: Record<string, unknown>, seed: number, device: torch.Device = 'cpu'): CausalLM {
  const config = parseConfig(rawConfig, 'initModel config');
  const std = typeof rawConfig.initializer_range === 'number' ? rawConfig.initializer_range : 0.02;
  torch.manualSeed(seed);
  const params = new Map<string, torch.Tensor>();
  torch.noGrad(() => {
    for (const [name, shape] of expectedShapes(config)) {
      // Drawn on the CPU, so that a seed gives the same weights whatever the device.
      let t = name.endsWith('norm.weight') || name.endsWith('layernorm.weight') ? torch.ones(shape) : torch.randn(shape).mul_(std);
      if (device !== 'cpu') {
        const moved = t.to(device);
        t.dispose();
        t = moved;
      }
      params.set(name, torch.keep(t).requiresGrad_());
    }
  });
  return buildModel(config, params, null);
}
