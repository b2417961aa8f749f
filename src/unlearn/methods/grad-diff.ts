// GradDiff: gradient ascent on the forget data, descent on the retain data (NLL, or KL to the
// starting model): loss = γ·(−NLL(forget)) + α·retain.
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, meanNll } from '../losses.js';

export const GradDiff = defineMethod({
  name: 'GradDiff',
  description: 'gradient difference: ascent on forget, descent on retain (NLL or KL to the starting model)',
  args: forgetRetainArgs,
  needs: (a) => ({ retain: 'required', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => combine(ctx, batch, meanNll(ctx.model, batch.forget).neg()),
});
