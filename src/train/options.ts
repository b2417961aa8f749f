// The training settings every run on the loop shares — finetune, forget, the procedures inside
// forget, SISA's stages — declared once; each run's options extend (or pick from) this type.
import type { Device } from '../torch/types.js';
import type { LoraConfig } from '../models/lora.js';
import type { PromptFormat } from './prompt.js';
import type { FieldMap } from './fields.js';
import type { OptimConfig } from './loop.js';

export interface TrainingOptions {
  /** Passes over the data (each run has its own default). */
  epochs?: number;
  /** Optimizer steps, instead of epochs. */
  steps?: number;
  /** Peak learning rate. */
  lr?: number;
  /** Examples per step. */
  batchSize?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Sharpness-aware minimisation: take each step's gradient at the worst point within this L2 radius (0: off). */
  sam?: number;
  seed?: number;
  device?: Device;
  /** Train LoRA adapters instead of the weights. */
  lora?: LoraConfig;
  /** Merge LoRA adapters into the weights on save (default: write the adapter in PEFT's layout). */
  merge?: boolean;
  /** How QA rows become text (default "Question: …\nAnswer: …"). */
  format?: PromptFormat;
  /** Where the data files keep the question, answer or text, when not under those names (--fields). */
  fields?: FieldMap;
  /** Cut examples to this many tokens (default: the model's context). */
  maxLength?: number;
  /** Continue an interrupted run from its checkpoint in the output folder. */
  resume?: boolean;
  /** Ctrl-C stops the run after the current step with a checkpoint (the CLI's runs; never a server's workers). */
  interruptible?: boolean;
  /** Replace a non-empty output folder (its contents are deleted first); without it a non-empty one is refused unless resume finds a checkpoint. */
  overwrite?: boolean;
  checkpointEvery?: number;
  report?: (line: string) => void;
}

/** The loop settings of a run of `totalSteps` (finetune and forget share these defaults): a checkpoint
 *  every quarter (at least every 10 steps) and AdamW at lr 1e-4 with up to 10 linear warm-up steps. */
export function loopSettings(o: TrainingOptions, totalSteps: number): { checkpointEvery: number; optim: OptimConfig } {
  return {
    checkpointEvery: o.checkpointEvery ?? Math.max(10, Math.ceil(totalSteps / 4)),
    optim: {
      lr: o.lr ?? 1e-4,
      weightDecay: o.weightDecay ?? 0,
      warmupSteps: o.warmupSteps ?? Math.min(10, Math.floor(totalSteps / 10)),
      schedule: 'linear',
      ...(o.sam ? { samRho: o.sam } : {}),
    },
  };
}
