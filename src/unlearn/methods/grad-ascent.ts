// GradAscent: raise the NLL of the forget data (the simplest baseline; it collapses the model
// when run long, which is why the retain-term methods exist).
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { meanNll } from '../losses.js';

export const GradAscent = defineMethod({
  name: 'GradAscent',
  description: 'gradient ascent on the forget data: loss = −NLL(forget)',
  args: z.strictObject({}),
  needs: () => ({ retain: 'none' }),
  loss: (ctx, batch) => {
    const nll = meanNll(ctx.model, batch.forget);
    return { loss: nll.neg(), parts: { forget_nll: nll.item() } };
  },
});
