// NPO (Zhang et al. 2024): DPO with only a rejected answer — the forget answer's log-ratio to the
// starting model is pushed down, with a bounded loss: −(2/β)·mean log σ(−β·(log π − log π_ref)).
// The reference log-likelihoods are computed once per forget item, so no second model is resident.
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { combine, dpoLoss, forgetRetainArgs, sequenceLogLik } from '../losses.js';

export const NPO = defineMethod({
  name: 'NPO',
  description: 'negative preference optimisation: bounded push of the forget answers below the starting model, plus a retain term',
  args: forgetRetainArgs.extend({
    beta: z.number().positive().default(0.15).describe('inverse temperature of the preference loss'),
    // KL to the starting model on retain data keeps general English (GCIDE NLL 1.026× the target's
    // against 1.033× with NLL, which keeps fitting the retain answers): see `training` below.
    retain_loss_type: z.enum(['NLL', 'KL']).default('KL').describe('retain term: NLL on retain data, or KL to the starting model on it'),
  }),
  training: {
    lr: 3e-4,
    epochs: 10,
    source:
      "measured here (tiny demo target, forget10 with retain90, seed 0: `node dist/bench/defaults/defaults.js runs/demo NPO`): forget P 1.29× the retain model's, retain P 0.97× the target's, GCIDE NLL 1.026×; open-unlearning's NPO config (lr 1e-5, 10 epochs, beta 0.1) is for 7B models and moves a tiny model too little",
  },
  // beta is NPO's key argument (open-unlearning sweeps it with lr); lr around the measured default.
  search: { lr: [1e-4, 3e-4, 1e-3], args: { beta: [0.05, 0.15, 0.5] } },
  needs: (a) => ({ retain: 'optional', referenceLogLik: true, referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => {
    const loseLogRatio = sequenceLogLik(ctx.model, batch.forget).sub(batch.refForgetLogLik!);
    return combine(ctx, batch, dpoLoss(0, loseLogRatio, ctx.args.beta));
  },
});
