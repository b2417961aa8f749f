// The micro training preset of the pipeline tests: a 2-layer model small enough to train in seconds.
import type { Preset } from '../../src/train/presets.js';

const MICRO: Preset = {
  name: 'micro',
  model: { vocabSize: 320, hiddenSize: 32, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 64, contextLength: 64 },
  pretrain: { steps: 6, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0.01 },
  finetune: { steps: 6, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0 },
  checkpointEvery: 4,
};

/** The micro preset with the stages (and the model's context length) a test needs changed. */
export function microPreset(over: Omit<Partial<Preset>, 'model'> & { contextLength?: number } = {}): Preset {
  const { contextLength, ...stages } = over;
  return { ...MICRO, ...stages, model: { ...MICRO.model, ...(contextLength ? { contextLength } : {}) } };
}
