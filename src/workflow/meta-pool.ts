// `lethe eval meta --build-pool`: a pool harder than "trained vs never trained", built under OUT/pool.
// Knowledge present: the retain model fine-tuned on the forget rows (relearned), and the target after
// a few NPO steps at a small learning rate, one model per step count (half-unlearned: the knowledge
// only partly removed). Knowledge absent: the retain model fine-tuned a few steps on retain rows, an
// absent model that is not the --retain-model the retain-relative metrics compare with. A model
// whose training finished is kept (a resumed run does not train it again).
import { join } from 'node:path';
import type { PoolModel } from '../eval/meta.js';
import { finetune } from '../train/finetune.js';
import { finishedRun } from '../train/loop.js';
import { forget } from '../unlearn/forget.js';

export interface PoolBuild {
  target: string;
  retainModel: string;
  forgetFile: string;
  retainFile: string;
  /** NPO optimizer steps from the target, one half-unlearned model each. */
  npoSteps: number[];
  log: (line: string) => void;
}

/** The settings, recorded in the README: NPO at lr 1e-4 (its default is 3e-4); the fine-tunes at the tiny preset's lr. */
export const POOL_SETTINGS = { npoLr: 1e-4, relearnEpochs: 4, retainSteps: 20, lr: 1e-3, batchSize: 16 } as const;

/** Builds the models missing under `dir` and returns them as pool members (present first). */
export async function buildPool(dir: string, o: PoolBuild): Promise<PoolModel[]> {
  const s = POOL_SETTINGS;
  const quiet = () => {};
  const step = async (name: string, run: (out: string) => Promise<unknown>): Promise<string> => {
    const out = join(dir, name);
    if (finishedRun(out)) o.log(`[eval meta] pool: ${name} built before`);
    else {
      o.log(`[eval meta] pool: building ${name}`);
      await run(out);
    }
    return out;
  };
  /** The retain model fine-tuned on one file (its length: epochs or steps). */
  const fromRetain = (data: string, length: { epochs: number } | { steps: number }) => (out: string) =>
    finetune({
      modelDir: o.retainModel,
      dataFiles: [data],
      outDir: out,
      ...length,
      lr: s.lr,
      batchSize: s.batchSize,
      resume: true,
      report: quiet,
    });
  const relearned = await step('relearned', fromRetain(o.forgetFile, { epochs: s.relearnEpochs }));
  const npo: string[] = [];
  for (const steps of o.npoSteps)
    npo.push(
      await step(`npo${steps}`, (out) =>
        forget({
          modelDir: o.target,
          forgetFile: o.forgetFile,
          retainFile: o.retainFile,
          method: 'NPO',
          steps,
          lr: s.npoLr,
          outDir: out,
          resume: true,
          report: quiet,
        }),
      ),
    );
  const retainFt = await step('retain-ft', fromRetain(o.retainFile, { steps: s.retainSteps }));
  return [...[relearned, ...npo].map((d) => ({ dir: d, present: true })), { dir: retainFt, present: false }];
}
