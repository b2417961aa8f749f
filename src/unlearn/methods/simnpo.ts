// SimNPO (Fan et al. 2024): NPO without a reference model, on the length-normalised NLL:
// −(2/β)·mean log σ(β·(NLL_sum/|y| − δ)).
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, labelledTokens, sequenceLogLik } from '../losses.js';

export const SimNPO = defineMethod({
  name: 'SimNPO',
  description: 'simple NPO: reference-free, length-normalised preference loss on the forget answers',
  args: forgetRetainArgs.extend({
    gamma: z.number().min(0).default(0.125).describe('weight of the forget term'),
    beta: z.number().positive().default(4.5).describe('inverse temperature'),
    delta: z.number().default(0).describe('reward margin'),
  }),
  // gamma, the forget term's weight (open-unlearning tunes beta and gamma): with the default 0.125 a
  // search over lr × beta 1.5/4.5/13.5 left the tiny demo target's forget-vs-holdout AUCs at 1.000.
  search: { lr: [1e-4, 3e-4, 1e-3], args: { gamma: [0.125, 1, 4] } },
  needs: (a) => ({ retain: 'optional', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => {
    const normNll = sequenceLogLik(ctx.model, batch.forget).neg().div(labelledTokens(batch.forget)).sub(ctx.args.delta);
    const forget = torch.distributed.rowMean(torch.softplus(normNll.mul(-ctx.args.beta))).mul(2 / ctx.args.beta);
    return combine(ctx, batch, forget);
  },
});
