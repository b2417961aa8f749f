// SatImp (Yang et al. 2025, saturation and importance): gradient ascent on the answer tokens weighted
// by p^β1 · (1 − p)^β2 with p each token's (detached) probability — favouring tokens that are likely
// (important) but not yet saturated: forget = −mean over answer tokens of w · NLL, plus a retain term.
// open-unlearning src/trainer/unlearn/satimp.py; defaults from configs/trainer/SatImp.yaml
// (β1 5, β2 1, γ 0.1, α 1, NLL).
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, maskedMean, tokenCrossEntropy } from '../losses.js';

export const SatImp = defineMethod({
  name: 'SatImp',
  description:
    'gradient ascent on forget answer tokens weighted by p^β1·(1−p)^β2 (likely but unsaturated tokens first), plus a retain term',
  args: forgetRetainArgs.extend({
    gamma: z.number().min(0).default(0.1).describe('weight of the forget term'),
    beta1: z.number().min(0).default(5).describe('exponent of p (importance)'),
    beta2: z.number().min(0).default(1).describe('exponent of 1 − p (saturation)'),
  }),
  needs: (a) => ({ retain: 'optional', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => {
    const b = batch.forget;
    const { ce, mask } = tokenCrossEntropy(ctx.model, b);
    const p = ce.detach().neg().exp();
    const weight = p.pow(ctx.args.beta1).mul(p.neg().add(1).pow(ctx.args.beta2));
    return combine(ctx, batch, maskedMean(weight.mul(ce), mask).neg());
  },
});
