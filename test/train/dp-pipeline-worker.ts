// One rank of a data-parallel `lethe train` run with the micro preset (parallel.test.ts starts
// one or two of these): joins the process group when WORLD_SIZE is set, then runs the pipeline.
import * as torch from '../../src/torch/index.js';
import { runPipeline } from '../../src/train/pipeline.js';
import { microPreset } from '../helpers/micro.js';

const micro = microPreset({ finetune: { steps: 4, batchSize: 4, lr: 3e-3, warmupSteps: 1, weightDecay: 0 } });

const [dataDir, outDir] = process.argv.slice(2);
const env = torch.distributed.optionsFromEnv();
if (env && env.worldSize > 1) torch.distributed.init(env);
await runPipeline({ dataDir: dataDir!, outDir: outDir!, preset: micro, seed: 1, forgetSplits: [], bookRetain: false, report: () => {} });
