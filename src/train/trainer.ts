// One pretraining / fine-tuning stage of `lethe train`: next-token loss on examples, through the
// shared loop (AdamW, warmup + cosine, clipping, checkpoints, --resume, NaN guard, JSONL log).
import { existsSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { modelLoss } from '../models/loss.js';
import type { CausalLM } from '../models/model.js';
import { TOKENIZER_FILES } from '../models/save.js';
import { batchAt, collate, rankShare, stepsPerEpoch, type Example } from './batches.js';
import { stageSteps, type StageSchedule } from './presets.js';
import { runLoop, type Evaluation } from './loop.js';

export interface StageOptions {
  name: string;
  /** The model to train (a fresh one, or one loaded from the previous stage); the stage frees it. */
  model: CausalLM;
  /** The examples of every epoch, or of epoch e (the same count each epoch: e.g. fresh replay text per epoch). */
  examples: Example[] | ((epoch: number) => Example[]);
  schedule: StageSchedule;
  seed: number;
  outDir: string;
  /** Folder whose tokenizer files are copied next to the weights. */
  tokenizerDir: string;
  padId: number;
  checkpointEvery: number;
  /** Where the model trains (default cpu). */
  device?: torch.Device;
  /** Continue from outDir/checkpoint when it exists. */
  resume?: boolean;
  /** A line per log interval (default: stderr). */
  report?: (line: string) => void;
  evaluation?: Evaluation;
  /** Writes the finished model (default: savePretrained + the tokenizer files). */
  save?: (model: CausalLM, dir: string) => void;
  fingerprint?: string;
  /** See LoopOptions.weightGrowthLimit: null when the model is a fresh initialisation (pretraining). */
  weightGrowthLimit?: number | null;
}

export interface StageResult {
  outDir: string;
  steps: number;
  finalLoss: number;
  tokens: number;
  seconds: number;
  resumedFrom: number;
}

export function copyTokenizer(from: string, to: string): void {
  for (const f of TOKENIZER_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
}

/** A trained model: full weights, or the LoRA adapters in PEFT's layout (with the tokenizer, so the
 *  folder loads as base + adapter) unless merging was asked for. */
export function saveTrained(m: CausalLM, dir: string, merge?: boolean): void {
  if (m.loraConfig && !merge) {
    m.saveAdapter(dir);
    if (m.sourceDir) copyTokenizer(m.sourceDir, dir);
  } else {
    if (m.loraConfig) m.mergeLora();
    m.savePretrained(dir);
  }
}

export async function trainStage(o: StageOptions): Promise<StageResult> {
  const s = o.schedule;
  const perEpoch = typeof o.examples === 'function' ? o.examples : () => o.examples as Example[];
  const count = perEpoch(0).length;
  try {
    o.model.train();
    const r = await runLoop({
      name: o.name,
      model: o.model,
      totalSteps: stageSteps(s, count),
      seed: o.seed,
      outDir: o.outDir,
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      report: o.report,
      evaluation: o.evaluation,
      fingerprint: o.fingerprint,
      weightGrowthLimit: o.weightGrowthLimit,
      optim: { lr: s.lr, weightDecay: s.weightDecay, warmupSteps: s.warmupSteps, schedule: 'cosine', minLrRatio: 0.1 },
      batch: (step) => {
        const epoch = Math.floor(step / stepsPerEpoch(count, s.batchSize));
        return collate(rankShare(batchAt(perEpoch(epoch), s.batchSize, step, o.seed)), o.padId, o.device);
      },
      loss: (b, _step) => modelLoss(o.model, b.ids, b.labels),
      release: (b) => torch.dispose([b.ids, b.labels]),
      tokensOf: (b) => b.tokens,
      save:
        o.save ??
        ((model, dir) => {
          model.savePretrained(dir);
          copyTokenizer(o.tokenizerDir, dir);
        }),
    });
    return { outDir: o.outDir, steps: r.steps, finalLoss: r.finalLoss, tokens: r.tokens, seconds: r.seconds, resumedFrom: r.resumedFrom };
  } finally {
    // The stage owns the model: freed on success and on failure alike.
    o.model.dispose();
  }
}
