// Distill: knowledge distillation into a fresh student. The student (the teacher's shape, or a
// smaller config.json the user gives) is initialised randomly with a seed and learns the teacher's
// next-token distributions, KL(teacher_T ‖ student_T)·T² over every real position, on retain text
// (and an optional general-text file) only, so the forget data never reaches it.
// Two uses: the teacher is the model being unlearned (--model: the student only sees what the
// teacher says on retain text), or, with teacher=DIR, a model that is already unlearned ("unlearn,
// then distil", as UNDO: a fresh student inherits the behaviour without the latent knowledge that
// relearning attacks bring back).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadModel, buildModel } from '../../models/load.js';
import type { CausalLM } from '../../models/model.js';
import { LetheError } from '../../util/errors.js';
import { readRows } from '../../train/examples.js';
import { initModel } from '../../train/init.js';
import { runLoop, type LoopResult } from '../../train/loop.js';
import { batchAt, stepsPerEpoch, type Example } from '../../train/batches.js';
import { defineMethod } from '../registry.js';
import { encodeExamples } from '../procedures.js';
import type { ProcedureContext } from '../method.js';

/** Mean over real positions of KL(softmax(t/T) ‖ softmax(s/T)) · T²; logits [B, T, V], mask [B, T]. */
export function distillationLoss(studentLogits: Tensor, teacherLogits: Tensor, mask: Tensor, temperature: number): Tensor {
  const t = torch.logSoftmax(teacherLogits.to('float32').div(temperature), -1);
  const s = torch.logSoftmax(studentLogits.to('float32').div(temperature), -1);
  const perPosition = t.exp().mul(t.sub(s)).sum(-1); // [B, T]
  const m = mask.to('float32');
  return perPosition
    .mul(m)
    .sum()
    .div(m.sum().clamp(1))
    .mul(temperature * temperature);
}

const args = z.strictObject({
  temperature: z.number().positive().default(2).describe('softmax temperature of both distributions (the loss is scaled by T²)'),
  teacher: z.string().default('').describe('an already-unlearned teacher model folder (default: the --model being unlearned)'),
  student_config: z.string().default('').describe("a config.json for a smaller student (default: the teacher's shape)"),
  student_seed: z.number().int().min(0).default(0).describe("seed of the student's random initialisation"),
  general: z.string().default('').describe('a JSONL file of general text to distil on as well as the retain data'),
  epochs: z.number().int().positive().default(5).describe('passes over the distillation data when neither --epochs nor --steps is given'),
});
type DistillArgs = z.infer<typeof args>;

/** What the student trains on: the retain rows and the general file's rows, never the forget rows. */
export async function distillExamples(ctx: ProcedureContext<DistillArgs>): Promise<Example[]> {
  const rows = [...ctx.retainRows];
  if (ctx.args.general) rows.push(...readRows(ctx.args.general, 'general').rows);
  return encodeExamples(ctx as ProcedureContext<unknown>, rows);
}

/** The student's config: the teacher's, or the user's config.json (same vocabulary: the tokenizer is the teacher's). */
function studentConfig(path: string, teacher: CausalLM): Record<string, unknown> {
  if (!path) return { ...teacher.config.raw };
  const file = existsSync(join(path, 'config.json')) ? join(path, 'config.json') : path;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LetheError('BAD_INPUT', `Distill: student_config ${file}: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new LetheError('BAD_INPUT', `Distill: student_config ${file} is not a JSON object`);
  const cfg = raw as Record<string, unknown>;
  if (cfg.vocab_size !== teacher.config.vocabSize) {
    throw new LetheError(
      'BAD_INPUT',
      `Distill: student_config ${file} has vocab_size ${JSON.stringify(cfg.vocab_size)}, but the teacher's is ${teacher.config.vocabSize} (the student shares the teacher's tokenizer)`,
    );
  }
  return cfg;
}

export const Distill = defineMethod({
  name: 'Distill',
  description: 'distil the teacher (the model, or an unlearned teacher=DIR) into a fresh random student on retain text only',
  args,
  needs: () => ({ retain: 'required' }),
  procedure: async (ctx) => {
    if (ctx.model.loraConfig)
      throw new LetheError('BAD_INPUT', 'Distill trains a fresh, randomly initialised student in full; --lora does not apply to it');
    const t = ctx.training;
    const examples = await distillExamples(ctx);
    const batchSize = Math.min(t.batchSize ?? 8, examples.length);
    if (!examples.length) throw new LetheError('BAD_INPUT', 'Distill: no retain or general rows to distil on');
    const teacherDir = ctx.args.teacher ? resolve(ctx.args.teacher) : ctx.modelDir;
    if (ctx.args.teacher && !existsSync(join(teacherDir, 'config.json')))
      throw new LetheError('NOT_FOUND', `Distill: teacher ${ctx.args.teacher} is not a Hugging Face model folder (no config.json)`);
    const teacher = ctx.args.teacher ? loadModel(teacherDir, { device: t.device, dtype: ctx.model.dtype }) : ctx.model;
    let student: CausalLM | null = null;
    try {
      teacher.eval();
      for (const p of teacher.parameters()) p.requiresGrad = false;
      if (teacher.config.vocabSize !== ctx.model.config.vocabSize)
        throw new LetheError(
          'BAD_INPUT',
          `Distill: the teacher's vocabulary (${teacher.config.vocabSize}) differs from the model's (${ctx.model.config.vocabSize})`,
        );
      const fresh = initModel(studentConfig(ctx.args.student_config, teacher), ctx.args.student_seed, t.device);
      // The same tensors, but saved with the teacher's tokenizer files.
      student = buildModel(fresh.config, fresh.params, teacherDir);
      const s = student;
      const totalSteps = t.steps ?? Math.max(1, (t.epochs ?? ctx.args.epochs) * stepsPerEpoch(examples.length, batchSize));
      const pad = ctx.tokenizer.padTokenId;
      ctx.report(
        `[Distill] student ${s.config.numLayers}×${s.config.hiddenSize} (seed ${ctx.args.student_seed}) learns ${ctx.args.teacher ? `teacher ${ctx.args.teacher}` : 'the model'} on ${examples.length} retain/general examples, ${totalSteps} steps`,
      );
      const loop: LoopResult = await runLoop({
        name: 'distill',
        model: s,
        totalSteps,
        seed: t.seed,
        outDir: join(ctx.workDir, 'distill'),
        resume: t.resume,
        report: ctx.report,
        weightGrowthLimit: null, // a fresh student: its weights grow
        checkpointEvery: Math.max(10, Math.ceil(totalSteps / 4)),
        fingerprint: JSON.stringify({ n: examples.length, batchSize, totalSteps, lr: t.lr, args: ctx.args }),
        optim: { lr: t.lr ?? 1e-3, weightDecay: 0, warmupSteps: Math.min(10, Math.floor(totalSteps / 10)), schedule: 'cosine' },
        batch: (step) => {
          const rows = batchAt(examples, batchSize, step, t.seed);
          const len = Math.max(...rows.map((e) => e.ids.length));
          const ids = torch.tensor(
            rows.map((e) => [...e.ids, ...new Array<number>(len - e.ids.length).fill(pad)]),
            { dtype: 'int64', device: t.device },
          );
          const mask = torch.tensor(
            rows.map((e) => e.ids.map(() => 1).concat(new Array<number>(len - e.ids.length).fill(0))),
            { dtype: 'int64', device: t.device },
          );
          const teacherLogits = torch.keep(
            torch.tidy(() => torch.noGrad(() => teacher.forward(ids, { attentionMask: mask }).logits.to('float32'))),
          );
          return { ids, mask, teacherLogits, tokens: rows.reduce((a, e) => a + e.ids.length, 0) };
        },
        loss: (b) => distillationLoss(s.forward(b.ids, { attentionMask: b.mask }).logits, b.teacherLogits, b.mask, ctx.args.temperature),
        release: (b) => torch.dispose([b.ids, b.mask, b.teacherLogits]),
        tokensOf: (b) => b.tokens,
        save: () => {},
      });
      ctx.report(`[Distill] final distillation loss ${loop.finalLoss.toFixed(4)}`);
      return s;
    } catch (err) {
      student?.dispose();
      throw err;
    } finally {
      if (teacher !== ctx.model) teacher.dispose();
    }
  },
});
