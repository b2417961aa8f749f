// `lethe finetune`: a model folder + the user's JSONL data → a fine-tuned model folder, through
// the shared loop. How a user builds a target from their own data; what WHP's reinforced model,
// task vectors and relearning attacks use.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../models/load.js';
import { loadTokenizer, missingEosWarning, type Tokenizer } from '../models/tokenizer.js';
import type { CausalLM } from '../models/model.js';
import { LetheError } from '../util/errors.js';
import { readRows, encodeRows, rowList, rowsWithoutTargets } from './examples.js';
import type { PromptFormat } from './prompt.js';
import { loopSettings, type TrainingOptions } from './options.js';
import type { FieldMap } from './fields.js';
import { batchAt, collate, rankShare, stepsPerEpoch, type Example } from './batches.js';
import { runLoop, hasCheckpoint, finishedRun, type LoopResult } from './loop.js';
import { isMainRank } from './parallel.js';
import { claimOutputDir } from '../util/output.js';
import { saveTrained } from './trainer.js';
import { modelLoss } from '../models/loss.js';
import * as t from '../torch/index.js';

export interface FinetuneOptions extends TrainingOptions {
  modelDir: string;
  dataFiles: string[];
  outDir: string;
}

/** Examples of every data file (text rows: every token; QA rows: the answer). */
export async function examplesFromFiles(
  tok: Tokenizer,
  files: string[],
  format: PromptFormat | undefined,
  maxLength: number,
  fields?: FieldMap,
): Promise<Example[]> {
  const out: Example[] = [];
  for (const f of files) out.push(...(await encodeRows(tok, readRows(f, 'data', fields).rows, { format, maxLength })));
  return out;
}

/** Fine-tunes an already-loaded model in place on examples (the relearning attack and WHP use this). */
export async function finetuneModel(
  model: CausalLM,
  examples: Example[],
  o: TrainingOptions & { outDir: string; padId: number; save?: (m: CausalLM, dir: string) => void },
): Promise<LoopResult> {
  const batchSize = Math.min(o.batchSize ?? 8, examples.length);
  const totalSteps = o.steps ?? Math.max(1, Math.round((o.epochs ?? 3) * stepsPerEpoch(examples.length, batchSize)));
  return runLoop({
    name: 'finetune',
    model,
    totalSteps,
    seed: o.seed ?? 0,
    outDir: o.outDir,
    resume: o.resume,
    interruptible: o.interruptible,
    report: o.report,
    ...loopSettings(o, totalSteps),
    fingerprint: `${examples.length}:${batchSize}:${totalSteps}:${o.lr}`,
    batch: (step) => collate(rankShare(batchAt(examples, batchSize, step, o.seed ?? 0)), o.padId, o.device),
    loss: (b) => modelLoss(model, b.ids, b.labels),
    release: (b) => t.dispose([b.ids, b.labels]),
    tokensOf: (b) => b.tokens,
    save: o.save ?? ((m, dir) => saveTrained(m, dir, o.merge)),
  });
}

/** finetuneModel on a model loaded for evaluation: its weights made trainable, training mode on, and
 *  evaluation mode again after (the relearning attack and LiRA's shadow models). */
export async function finetuneLoaded(model: CausalLM, examples: Example[], o: Parameters<typeof finetuneModel>[2]): Promise<LoopResult> {
  for (const p of model.parameters()) p.requiresGrad = true;
  model.train();
  try {
    return await finetuneModel(model, examples, o);
  } finally {
    model.eval();
  }
}

export async function finetune(o: FinetuneOptions): Promise<LoopResult> {
  if (!existsSync(join(o.modelDir, 'config.json')))
    throw new LetheError('NOT_FOUND', `finetune: --model ${o.modelDir} is not a Hugging Face model folder (no config.json)`);
  if (!o.dataFiles.length) throw new LetheError('BAD_INPUT', 'finetune: give at least one --data file');
  claimOutputDir(o.outDir, {
    what: 'finetune',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: hasCheckpoint,
    finished: finishedRun,
    checkOnly: !isMainRank(),
    inputs: [{ name: 'the input model folder --model', path: o.modelDir }, ...o.dataFiles.map((f) => ({ name: '--data', path: f }))],
  });
  const model = loadModel(o.modelDir, { device: o.device });
  try {
    const tok = loadTokenizer(o.modelDir);
    const noEos = missingEosWarning(tok, o.modelDir);
    if (noEos) (o.report ?? ((l: string) => process.stderr.write(l + '\n')))(`[finetune] warning: ${noEos}`);
    const maxLength = o.maxLength ?? model.config.maxPositionEmbeddings;
    const examples = await examplesFromFiles(tok, o.dataFiles, o.format, maxLength, o.fields);
    const empty = rowsWithoutTargets(examples);
    if (empty.length) {
      const what = `${empty.length} of ${examples.length} rows (${rowList(empty)}, counted across --data files) keep no answer or text token after cutting to ${o.maxLength !== undefined ? `--max-length ${maxLength}` : `the model's context (${maxLength} tokens)`}`;
      const fix = 'Raise --max-length (or shorten the prompt template) so that each question and at least part of its answer fit.';
      if (empty.length === examples.length) throw new LetheError('BAD_INPUT', `finetune: ${what}: nothing would train. ${fix}`);
      (o.report ?? ((l: string) => process.stderr.write(l + '\n')))(`[finetune] warning: ${what}; they are not trained on. ${fix}`);
    }
    t.manualSeed(o.seed ?? 0); // LoRA's A is drawn from torch's generator: the same seed, the same adapters
    if (o.lora) model.addLora(o.lora);
    return await finetuneModel(model, examples, { ...o, padId: tok.padTokenId });
  } finally {
    model.dispose();
  }
}
