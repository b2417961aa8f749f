// GradDiff: gradient ascent on the forget data, descent on the retain data (NLL, or KL to the
// starting model): loss = γ·(−NLL(forget)) + α·retain.
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, meanNll } from '../losses.js';

export const GradDiff = defineMethod({
  name: 'GradDiff',
  description: 'gradient difference: ascent on forget, descent on retain (NLL or KL to the starting model)',
  args: forgetRetainArgs,
  // alpha (the retain term's weight) is GradDiff's key argument.
  search: { lr: [3e-5, 1e-4, 3e-4], args: { alpha: [1, 2, 5] } },
  needs: (a) => ({ retain: 'required', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => combine(ctx, batch, meanNll(ctx.model, batch.forget).neg()),
});
