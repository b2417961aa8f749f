// PDU (Entesari et al. 2025, primal-dual unlearning): flatten the model's output on the forget data —
// forget = mean over positions of (max logit − mean logit)² — subject to a bound ε on the retain loss,
// enforced by a dual variable λ (the retain weight, starting at α):
//   loss = γ·forget + λ·(retain − ε),   then, past the warm-up,  λ ← max(0, λ + η·(retain − ε)).
// λ and ε live in state.numbers, which the loop checkpoints. open-unlearning src/trainer/unlearn/pdu.py
// (per-step dual update); defaults from configs/trainer/PDU.yaml (γ 1, α 1, η 1, λ updates after 5 of
// the 10 epochs → dual_warmup 0.5 of the steps). Its retain_loss_eps has no default (???): here a
// negative ε means "the retain loss of the first step", i.e. do not get worse than the starting model.
import { z } from 'zod';
import { defineMethod } from '../registry.js';
import { forgetRetainArgs, maskedMean, retainTerm } from '../losses.js';
import { LetheError } from '../../util/errors.js';

export const PDU = defineMethod({
  name: 'PDU',
  description: 'primal-dual unlearning: flatten forget logits (max − mean)² while a dual variable keeps the retain loss under a bound ε',
  args: forgetRetainArgs.extend({
    alpha: z.number().min(0).default(1).describe('starting value of the dual variable λ (the retain weight)'),
    retain_loss_eps: z.number().default(-1).describe('bound ε on the retain loss; negative: the retain loss at the first step'),
    dual_step_size: z.number().min(0).default(1).describe('dual ascent step η (0: λ stays at alpha)'),
    dual_warmup: z.number().min(0).max(1).default(0.5).describe('fraction of the steps before λ starts to move'),
  }),
  needs: (a) => ({ retain: 'required', referenceModel: a.retain_loss_type === 'KL' }),
  dataParallel: false, // λ moves with the step's retain loss, a whole-batch value
  loss: (ctx, batch) => {
    const f = batch.forget;
    const logits = ctx.model.forward(f.ids, { attentionMask: f.attentionMask }).logits.to('float32'); // [B, T, V]
    const gap = logits.amax(-1).sub(logits.mean(-1)).square(); // [B, T]
    const forget = maskedMean(gap, f.attentionMask.to('float32'));
    const retain = retainTerm(ctx, batch);
    if (!retain) throw new LetheError('INTERNAL', 'PDU needs a retain batch');
    const s = ctx.state.numbers;
    const retainValue = retain.item();
    const lambda = s.lambda ?? ctx.args.alpha;
    const eps = s.retain_loss_eps ?? (ctx.args.retain_loss_eps >= 0 ? ctx.args.retain_loss_eps : retainValue);
    const loss = forget.mul(ctx.args.gamma).add(retain.sub(eps).mul(lambda));
    s.retain_loss_eps = eps;
    s.lambda =
      ctx.step >= ctx.args.dual_warmup * ctx.totalSteps ? Math.max(0, lambda + ctx.args.dual_step_size * (retainValue - eps)) : lambda;
    return { loss, parts: { forget: forget.item(), retain: retainValue, lambda } };
  },
});
