// NPO (Zhang et al. 2024): DPO with only a rejected answer — the forget answer's log-ratio to the
// starting model is pushed down, with a bounded loss: −(2/β)·mean log σ(−β·(log π − log π_ref)).
// The reference log-likelihoods are computed once per forget item, so no second model is resident.
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { combine, dpoLoss, forgetRetainArgs, sequenceLogLik } from '../losses.js';

export const NPO = defineMethod({
  name: 'NPO',
  description: 'negative preference optimisation: bounded push of the forget answers below the starting model, plus a retain term',
  args: forgetRetainArgs.extend({ beta: z.number().positive().default(0.1).describe('inverse temperature of the preference loss') }),
  needs: (a) => ({ retain: 'optional', referenceLogLik: true, referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => {
    const loseLogRatio = sequenceLogLik(ctx.model, batch.forget).sub(batch.refForgetLogLik!);
    return combine(ctx, batch, dpoLoss(0, loseLogRatio, ctx.args.beta));
  },
});
