// WGA (Wang et al. 2025, weighted gradient ascent): gradient ascent where each answer token's NLL is
// weighted by its (detached) probability to the power β, so tokens the model already gives up on stop
// pulling: forget = −mean over answer tokens of p^β · NLL, plus a retain term.
// open-unlearning src/trainer/unlearn/wga.py; defaults from configs/trainer/WGA.yaml (β 1, γ 1, α 1, NLL).
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, maskedMean, tokenCrossEntropy } from '../losses.js';

export const WGA = defineMethod({
  name: 'WGA',
  description: "weighted gradient ascent: ascent on each forget answer token's NLL weighted by its probability^β, plus a retain term",
  args: forgetRetainArgs.extend({ beta: z.number().min(0).default(1).describe('exponent of the token-probability weight') }),
  needs: (a) => ({ retain: 'optional', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => {
    const b = batch.forget;
    const { ce, mask } = tokenCrossEntropy(ctx.model, b);
    const weight = ce.detach().neg().exp().pow(ctx.args.beta);
    return combine(ctx, batch, maskedMean(weight.mul(ce), mask).neg());
  },
});
