// Flag values, parsed and checked one way for every command: a bad value stops the command before
// it runs, with a message naming the command, the flag and what was expected ("forget: '--epochs'
// must be a positive integer, got 'two'"). The training flags that finetune, forget and sisa train
// share are registered here once.
import { type Command, Option } from 'commander';
import { invalidArgument } from '../util/errors.js';
import type { LoraConfig } from '../models/lora.js';
import { parseLora } from '../models/lora-spec.js';
import type { Device } from '../torch/types.js';
import type { TrainingOptions } from '../train/options.js';
import { checkTemplate, type PromptFormat } from '../train/prompt.js';
import { parseFieldMap, type FieldMap } from '../train/fields.js';

/** What commander calls with a flag's text (and the value so far, for repeatable flags). */
type Parser<T> = (value: string, previous: T) => T;

/** An integer of at least `min` (1: a count; 0: a seed, an offset) and at most `max`. */
export function int(where: string, flag: string, { min = 1, max }: { min?: 0 | 1; max?: number } = {}): Parser<number> {
  const expected = max !== undefined ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : 'a non-negative integer';
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || (max !== undefined && n > max))
      throw invalidArgument(where, flag, expected, v);
    return n;
  };
}

/** A finite number above 0, or at least 0 with `orZero`. */
export function number(where: string, flag: string, { orZero = false } = {}): Parser<number> {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !orZero))
      throw invalidArgument(where, flag, orZero ? 'a non-negative number' : 'a positive number', v);
    return n;
  };
}

/** cpu, cuda or cuda:N. */
export function device(where: string, flag = '--device'): Parser<Device> {
  return (v) => {
    if (v === 'cpu' || v === 'cuda' || /^cuda:\d+$/.test(v)) return v as Device;
    throw invalidArgument(where, flag, 'cpu, cuda or cuda:N', v);
  };
}

/** "a, b,,c" → ['a', 'b', 'c']. */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Repeatable `--set key=value`, collected into one object (the last value of a key wins). */
export function keyValue(where: string, flag = '--set'): Parser<Record<string, string>> {
  return (v, previous) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw invalidArgument(where, flag, 'key=value', v);
    return { ...previous, [v.slice(0, eq)]: v.slice(eq + 1) };
  };
}

/** A command's name as typed after `lethe` ("forget", "sisa train"). */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The training flags' values as commander hands them to an action. */
export interface TrainingFlags {
  out: string;
  epochs?: number;
  steps?: number;
  lr?: number;
  sam?: number;
  batchSize?: number;
  seed: number;
  device: Device;
  lora?: LoraConfig;
  merge?: boolean;
  promptTemplate?: string;
  chatTemplate?: boolean;
  fields?: FieldMap;
  maxLength?: number;
  resume?: boolean;
  overwrite?: boolean;
  profile?: boolean;
}

const TRAINING_FLAGS = {
  out: () => new Option('--out <dir>', 'output folder (a new model folder; never the input)').makeOptionMandatory(),
  epochs: (w: string) => new Option('--epochs <n>', 'passes over the data').argParser(int(w, '--epochs')),
  steps: (w: string) => new Option('--steps <n>', 'optimizer steps (instead of --epochs)').argParser(int(w, '--steps')),
  lr: (w: string) => new Option('--lr <x>', 'peak learning rate').argParser(number(w, '--lr')),
  sam: (w: string) =>
    new Option(
      '--sam <rho>',
      "sharpness-aware minimisation: each step's gradient is taken at the worst point within this L2 radius of the weights (e.g. 0.05; a second forward and backward per step); flatter minima resist relearning",
    ).argParser(number(w, '--sam')),
  batchSize: (w: string) => new Option('--batch-size <n>', 'examples per step').argParser(int(w, '--batch-size')),
  seed: (w: string) => new Option('--seed <n>', 'seed').argParser(int(w, '--seed', { min: 0 })).default(0),
  device: (w: string) => new Option('--device <d>', 'cpu, cuda or cuda:N').argParser(device(w)).default('cpu'),
  lora: () =>
    new Option('--lora <spec>', 'train LoRA adapters: r=8,alpha=16,targets=q_proj,v_proj[,dropout=0.05][,rslora]').argParser((v: string) =>
      parseLora(v),
    ),
  merge: () => new Option('--merge', 'merge LoRA adapters into the weights on save (default: PEFT adapter folder)'),
  promptTemplate: () =>
    new Option('--prompt-template <t>', 'QA template with {question} and {answer} (default "Question: {question}\\nAnswer: {answer}")'),
  chatTemplate: () => new Option('--chat-template', "format QA rows with the model's chat template"),
  fields: (w: string) =>
    new Option(
      '--fields <map>',
      'where the data files keep the fields: question=prompt,answer=completion (or instruction/output), text=FIELD, or messages (chat turns)',
    ).argParser((v: string) => parseFieldMap(v, w)),
  maxLength: (w: string) => new Option('--max-length <n>', 'cut examples to this many tokens').argParser(int(w, '--max-length')),
  resume: () => new Option('--resume', 'continue an interrupted run from its checkpoint in --out'),
  overwrite: () => new Option('--overwrite', 'replace a non-empty --out: its contents are deleted first'),
  profile: () =>
    new Option(
      '--profile',
      'print where the time went, by phase (loading, data, forward + loss, backward, optimizer, evaluation, checkpoints, saving)',
    ),
  // Taken out of argv before commander runs (launch.ts); registered for --help.
  nproc: () => new Option('--nproc <n>', 'data-parallel: N local processes share each global batch (Gloo; see README)'),
};
type TrainingFlag = keyof typeof TRAINING_FLAGS;

/** Adds the training flags `names` (all of them by default, in this order) to `cmd`; `help` replaces
 *  a flag's description where a command means something more precise by it. */
export function trainingFlags(
  cmd: Command,
  names: TrainingFlag[] = Object.keys(TRAINING_FLAGS) as TrainingFlag[],
  help: Partial<Record<TrainingFlag, string>> = {},
): Command {
  const where = commandPath(cmd);
  for (const name of names) {
    const option = TRAINING_FLAGS[name](where);
    if (help[name]) option.description = help[name];
    cmd.addOption(option);
  }
  return cmd;
}

/** --prompt-template (with \n written as two characters) or --chat-template as a prompt format. */
export function promptFormat(o: { promptTemplate?: string; chatTemplate?: boolean }): PromptFormat | undefined {
  if (o.promptTemplate) checkTemplate(o.promptTemplate.replace(/\\n/g, '\n'));
  return o.chatTemplate ? { chat: true } : o.promptTemplate ? { template: o.promptTemplate.replace(/\\n/g, '\n') } : undefined;
}

/** The training flags as the library's training options. */
export function trainingOptions(f: TrainingFlags): TrainingOptions {
  return {
    epochs: f.epochs,
    steps: f.steps,
    lr: f.lr,
    sam: f.sam,
    batchSize: f.batchSize,
    seed: f.seed,
    device: f.device,
    resume: f.resume,
    interruptible: true,
    overwrite: f.overwrite,
    lora: f.lora,
    merge: f.merge,
    format: promptFormat(f),
    fields: f.fields,
    maxLength: f.maxLength,
  };
}
