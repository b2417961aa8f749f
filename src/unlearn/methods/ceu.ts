// CE-U (Yang et al. 2025, "Cross Entropy Unlearning"): at each answer position, cross-entropy towards
// the model's own (detached) distribution with the true token removed — softmax of the logits with the
// label's set to −∞ — so the answer token loses its mass without pushing the rest anywhere:
//   forget = mean over answer positions of −Σ_v softmax(sg(logits) with label → −∞)_v · log p_v.
// The first n answer tokens of each row are skipped (the paper's footnote; open-unlearning's
// ignore_first_n_answer_tokens, default 1). No retain term, as open-unlearning's CEU (src/trainer/unlearn/ceu.py).
import { z } from 'zod';
import * as torch from '../../torch/index.js';
import { defineMethod } from '../registry.js';
import { maskedMean } from '../losses.js';
import { IGNORE_INDEX } from '../../models/loss.js';

export const CEU = defineMethod({
  name: 'CEU',
  description:
    "cross-entropy unlearning: move each answer token's probability onto the other tokens in proportion to the model's own distribution",
  args: z.strictObject({
    ignore_first_n_answer_tokens: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe('answer tokens at the start of each row left out of the loss'),
  }),
  needs: () => ({ retain: 'none' }),
  loss: (ctx, batch) => {
    const b = batch.forget;
    const valid = b.labels.ne(IGNORE_INDEX);
    const first = valid.to('int64').cumsum(-1).le(ctx.args.ignore_first_n_answer_tokens).logicalAnd(valid);
    const labels = b.labels.maskedFill(first, IGNORE_INDEX);
    const logits = ctx.model.forward(b.ids, { attentionMask: b.attentionMask }).logits;
    const t = logits.size(1);
    const next = labels.narrow(1, 1, t - 1); // [B, T-1]
    const mask = next.ne(IGNORE_INDEX);
    const lg = logits.narrow(1, 0, t - 1).to('float32'); // [B, T-1, V]
    const target = torch.noGrad(() => torch.softmax(lg.detach().scatter(2, torch.where(mask, next, 0).unsqueeze(-1), -Infinity), -1));
    const ce = target.mul(torch.logSoftmax(lg, -1)).sum(-1).neg(); // [B, T-1]
    const forget = maskedMean(ce, mask.to('float32'));
    return { loss: forget, parts: { forget: forget.item() } };
  },
});
