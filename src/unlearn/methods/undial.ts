// UNDIAL (Dong et al. 2024, "Self-distillation with adjusted logits"): distil the forget answers from
// the starting model with the logit of each answer token lowered by β, so the model keeps its
// distribution but stops preferring what it memorised: per labelled position,
//   soft = softmax(ref_logits − β·onehot(label)),   forget = mean CE(logits, soft).
// open-unlearning's compute_undial_loss averages over every position and indexes the one-hot with the
// -100 labels of prompt and padding (wrapping to vocabulary entry V−100); here only labelled positions
// count. Defaults from its configs/trainer/UNDIAL.yaml (β 10, γ 1, α 0: no retain term).
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import { defineMethod } from '../registry.js';
import { combine, forgetRetainArgs, maskedMean } from '../losses.js';
import { IGNORE_INDEX } from '../../models/loss.js';
import { LetheError } from '../../util/errors.js';

export const UNDIAL = defineMethod({
  name: 'UNDIAL',
  description: "self-distillation from the starting model with each forget answer token's logit lowered by β (adjusted soft labels)",
  args: forgetRetainArgs.extend({
    alpha: z.number().min(0).default(0).describe('weight of the retain term (0: distillation alone, as the paper)'),
    beta: z.number().min(0).default(10).describe("how far the answer token's logit is lowered in the soft labels"),
  }),
  needs: (a) => ({ retain: a.alpha > 0 ? 'optional' : 'none', referenceModel: true }),
  loss: (ctx, batch) => {
    if (!ctx.reference) throw new LetheError('INTERNAL', 'UNDIAL needs the reference model');
    const b = batch.forget;
    const logits = ctx.model.forward(b.ids, { attentionMask: b.attentionMask }).logits;
    const t = logits.size(1);
    const next = b.labels.narrow(1, 1, t - 1); // [B, T-1]
    const mask = next.ne(IGNORE_INDEX);
    const soft = torch.noGrad(() => {
      const teacher = ctx
        .reference!.forward(b.ids, { attentionMask: b.attentionMask })
        .logits.narrow(1, 0, t - 1)
        .to('float32'); // [B, T-1, V]
      const lowered = torch.zerosLike(teacher).scatter(2, torch.where(mask, next, 0).unsqueeze(-1), ctx.args.beta);
      return torch.softmax(teacher.sub(lowered), -1);
    });
    const ce = soft
      .mul(torch.logSoftmax(logits.narrow(1, 0, t - 1).to('float32'), -1))
      .sum(-1)
      .neg(); // [B, T-1]
    return combine(ctx, batch, maskedMean(ce, mask.to('float32')));
  },
});
