// What the procedure methods (TaskVector, WHP, Distill) share: encoding rows as the loss methods
// do, the number of steps a run gets, and the "reinforced" model (a copy of the starting model
// fine-tuned further on the forget data, through finetuneModel and so the one loop).
import { join } from 'node:path';
import { loadModel } from '../models/load.js';
import type { CausalLM } from '../models/model.js';
import { encodeRow, type DataRow } from '../train/examples.js';
import type { Example } from '../train/batches.js';
import { finetuneModel } from '../train/finetune.js';
import type { LoopResult } from '../train/loop.js';
import type { ProcedureContext } from './method.js';

/** Rows as training examples (text rows: every token; QA rows: the answer), as forget() encodes them. */
export async function encodeExamples(ctx: ProcedureContext<unknown>, rows: readonly DataRow[]): Promise<Example[]> {
  const out: Example[] = [];
  for (const r of rows) out.push(await encodeRow(ctx.tokenizer, r, { format: ctx.training.format, maxLength: ctx.training.maxLength }));
  return out;
}

/** A fine-tune's options from the user's training settings; `epochs` is the method's default when
 *  the user gave neither --epochs nor --steps. The procedure saves nothing itself (forget() does). */
export function trainingFor(ctx: ProcedureContext<unknown>, sub: string, defaults: { epochs: number; lr?: number }) {
  const t = ctx.training;
  return {
    outDir: join(ctx.workDir, sub),
    epochs: t.steps === undefined ? (t.epochs ?? defaults.epochs) : undefined,
    steps: t.steps,
    lr: defaults.lr ?? t.lr,
    batchSize: t.batchSize,
    seed: t.seed,
    device: t.device,
    resume: t.resume,
    report: ctx.report,
    padId: ctx.tokenizer.padTokenId,
    save: () => {},
  };
}

/** The reinforced model: a fresh copy of the starting model (with LoRA adapters when the run uses
 *  them) fine-tuned on the forget examples for `epochs` epochs. The caller disposes it. */
export async function reinforcedModel(
  ctx: ProcedureContext<unknown>,
  forgetExamples: Example[],
  o: { epochs: number; lr?: number; steps?: number },
): Promise<{ model: CausalLM; loop: LoopResult }> {
  const copy = loadModel(ctx.modelDir, { device: ctx.training.device, dtype: ctx.model.dtype });
  try {
    if (ctx.model.loraConfig) copy.addLora(ctx.model.loraConfig);
    const t = trainingFor(ctx, 'reinforced', { epochs: o.epochs, lr: o.lr });
    ctx.report(`[reinforce] fine-tuning a copy of the model on ${forgetExamples.length} forget examples`);
    const loop = await finetuneModel(copy, forgetExamples, { ...t, epochs: o.steps === undefined ? o.epochs : undefined, steps: o.steps });
    copy.eval();
    return { model: copy, loop };
  } catch (err) {
    copy.dispose();
    throw err;
  }
}
