// TaskVector (Ilharco et al. 2023, task negation; MUSE's baseline): fine-tune a copy of the model
// on the forget data (the reinforced model θ_r), then move the model against that direction:
// θ ← θ − α·(θ_r − θ). With --lora the reinforcement trains the adapters only, so θ_r − θ is the
// adapter's delta B·A·s, and negating it is B ← −α·B (saved as an adapter, or merged with --merge).
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import { LetheError } from '../../util/errors.js';
import { defineMethod } from '../registry.js';
import { encodeExamples, reinforcedModel, trainingFor } from '../procedures.js';
import { finetuneModel } from '../../train/finetune.js';

/** θ ← θ − α·(θ_r − θ) for every parameter of `model`, computed as d = θ_r − θ; d ← α·d; θ ← θ − d (float32 ops, one rounding each). */
export function negateTaskVector(model: CausalLM, reinforced: CausalLM, alpha: number): void {
  const theirs = new Map(reinforced.namedParameters());
  torch.noGrad(() => {
    for (const [name, p] of model.namedParameters()) {
      const r = theirs.get(name);
      if (!r || r.shape.join() !== p.shape.join())
        throw new LetheError('INTERNAL', `task vector: the reinforced model has no parameter '${name}' of shape [${p.shape}]`);
      torch.tidy(() => {
        const d = r.to(p.device as torch.Device).sub(p);
        d.mul_(alpha);
        p.copy_(p.sub(d));
      });
    }
  });
}

export const TaskVector = defineMethod({
  name: 'TaskVector',
  description: 'task negation: fine-tune a copy on the forget data (θ_r), then θ − α·(θ_r − θ)',
  args: z.strictObject({
    alpha: z.number().positive().default(5).describe('how far to move against the forget task vector'),
    epochs: z
      .number()
      .int()
      .positive()
      .default(5)
      .describe('epochs of the reinforcing fine-tune when neither --epochs nor --steps is given'),
  }),
  needs: () => ({ retain: 'none' }),
  procedure: async (ctx) => {
    const forgetEx = await encodeExamples(ctx, ctx.forgetRows);
    if (ctx.model.loraConfig) {
      // The adapters start as a no-op (B = 0): train them on the forget data, then B ← −α·B.
      const t = trainingFor(ctx, 'reinforced', { epochs: ctx.args.epochs });
      ctx.report(`[TaskVector] reinforcing LoRA adapters on ${forgetEx.length} forget examples`);
      await finetuneModel(ctx.model, forgetEx, t);
      torch.noGrad(() => {
        for (const a of ctx.model.loras.values()) a.b.mul_(-ctx.args.alpha);
      });
      return;
    }
    const t = ctx.training;
    const { model: reinforced } = await reinforcedModel(ctx, forgetEx, {
      epochs: t.steps === undefined ? (t.epochs ?? ctx.args.epochs) : 1,
      steps: t.steps,
      lr: t.lr,
    });
    try {
      negateTaskVector(ctx.model, reinforced, ctx.args.alpha);
    } finally {
      reinforced.dispose();
    }
    for (const [name, p] of ctx.model.namedParameters()) {
      if (torch.tidy(() => p.isfinite().logicalNot().any().item()))
        throw new LetheError(
          'NON_FINITE_LOSS',
          `TaskVector: parameter '${name}' is not finite after θ − α(θ_r − θ) (α ${ctx.args.alpha}); lower alpha or the learning rate`,
        );
    }
  },
});
