// DPO (Rafailov et al. 2023) for unlearning: prefer an alternate answer (the row's
// alternate_answer, else a perturbed one, else an "I don't know") to the forget answer.
// IdkDPO is the same loss with the shipped "I don't know" answers as the preferred ones.
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { combine, dpoLoss, forgetRetainArgs, sequenceLogLik } from '../losses.js';
import type { StepBatch, StepContext } from '../method.js';

const args = forgetRetainArgs.extend({ beta: z.number().positive().default(0.1).describe('inverse temperature of the preference loss') });

function loss(ctx: StepContext<z.infer<typeof args>>, batch: StepBatch) {
  const win = sequenceLogLik(ctx.model, batch.alternate!).sub(batch.refAlternateLogLik!);
  const lose = sequenceLogLik(ctx.model, batch.forget).sub(batch.refForgetLogLik!);
  return combine(ctx, batch, dpoLoss(win, lose, ctx.args.beta));
}

export const DPO = defineMethod({
  name: 'DPO',
  description: 'direct preference optimisation: prefer an alternate answer (alternate_answer, perturbed or IdK) to the forget answer',
  args,
  needs: (a) => ({ retain: 'optional', referenceLogLik: true, alternate: 'alternate', referenceModel: a.retain_loss_type === 'KL' }),
  loss,
});

export const IdkDPO = defineMethod({
  name: 'IdkDPO',
  description: 'DPO towards "I don\'t know"-style answers (a shipped set of refusals) instead of the forget answers',
  args,
  needs: (a) => ({ retain: 'optional', referenceLogLik: true, alternate: 'idk', referenceModel: a.retain_loss_type === 'KL' }),
  loss,
});
