// IdkNLL (TOFU's "I don't know" fine-tuning): learn a refusal as the answer to each forget
// question, keep the retain data: loss = γ·NLL(IdK answer | forget question) + α·retain.
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, meanNll } from '../losses.js';

export const IdkNLL = defineMethod({
  name: 'IdkNLL',
  description: 'fine-tune the forget questions towards "I don\'t know"-style answers, plus a retain term',
  args: forgetRetainArgs,
  needs: (a) => ({ retain: 'optional', alternate: 'idk', referenceModel: a.retain_loss_type === 'KL' }),
  loss: (ctx, batch) => combine(ctx, batch, meanNll(ctx.model, batch.alternate!)),
});
