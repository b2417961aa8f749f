// One rank of a data-parallel `lethe train` run with the micro preset (parallel.test.ts starts
// one or two of these): joins the process group when WORLD_SIZE is set, then runs the pipeline.
import * as torch from '../../src/torch/index.js';
import { runPipeline } from '../../src/train/pipeline.js';
import type { Preset } from '../../src/train/presets.js';

export const micro: Preset = {
  name: 'micro',
  model: { vocabSize: 320, hiddenSize: 32, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 64, contextLength: 64 },
  pretrain: { steps: 6, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0.01 },
  finetune: { steps: 4, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0 },
  checkpointEvery: 4,
};

const [dataDir, outDir] = process.argv.slice(2);
const env = torch.distributed.optionsFromEnv();
if (env && env.worldSize > 1) torch.distributed.init(env);
await runPipeline({ dataDir: dataDir!, outDir: outDir!, preset: micro, seed: 1, forgetSplits: [], bookRetain: false, report: () => {} });
