// Math the methods share (open-unlearning's compute_batch_nll, compute_dpo_loss, the retain term),
// written once. Sequence log-likelihoods are sums over labelled tokens, as open-unlearning's.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { labelLogProbs, modelLoss, IGNORE_INDEX } from '../models/loss.js';
import { z } from 'zod';
import type { Encoded, StepBatch, StepContext } from './method.js';
import { LetheError } from '../util/errors.js';

/** Mean next-token NLL over the labelled tokens of a batch (HF's model(...).loss). */
export function meanNll(model: CausalLM, b: Encoded): Tensor {
  return modelLoss(model, b.ids, b.labels, { attentionMask: b.attentionMask });
}

/** Per-row log-likelihood of the labelled tokens, summed, [B]. */
export function sequenceLogLik(model: CausalLM, b: Encoded): Tensor {
  return labelLogProbs(model, b.ids, b.labels, { attentionMask: b.attentionMask }).logProbs.sum(1);
}

/** Labelled tokens per row (labels != -100 on the unshifted labels, as open-unlearning counts them), [B]. */
export function labelledTokens(b: Encoded): Tensor {
  return b.labels.ne(IGNORE_INDEX).sum(1).to('float32');
}

/** DPO's loss from the log-ratios log π/π_ref of the preferred (win) and rejected (lose) answers:
 *  −(2/β) · mean log σ(β (win − lose)). NPO is the case with no preferred answer (win = 0). */
export function dpoLoss(winLogRatio: Tensor | number, loseLogRatio: Tensor, beta: number): Tensor {
  const diff = typeof winLogRatio === 'number' ? loseLogRatio.neg().add(winLogRatio) : winLogRatio.sub(loseLogRatio);
  // log σ(x) = −softplus(−x)
  return torch.distributed.rowMean(torch.softplus(diff.mul(-beta))).mul(2 / beta);
}

/** KL(reference ‖ model) per position, averaged over the real (unpadded) positions of the batch. */
export function klToReference(model: CausalLM, reference: CausalLM, b: Encoded): Tensor {
  const refLog = torch.noGrad(() =>
    torch.logSoftmax(reference.forward(b.ids, { attentionMask: b.attentionMask }).logits.to('float32'), -1),
  );
  const log = torch.logSoftmax(model.forward(b.ids, { attentionMask: b.attentionMask }).logits.to('float32'), -1);
  const perPosition = refLog.exp().mul(refLog.sub(log)).sum(-1); // [B, T]
  const mask = b.attentionMask.to('float32');
  return perPosition.mul(mask).sum().div(torch.distributed.globalCount(mask.sum()).clamp(1));
}

/** The arguments of every method that balances a forget term against a retain term (GradDiff's). */
export const forgetRetainArgs = z.strictObject({
  gamma: z.number().min(0).default(1).describe('weight of the forget term'),
  alpha: z.number().min(0).default(1).describe('weight of the retain term'),
  retain_loss_type: z.enum(['NLL', 'KL']).default('NLL').describe('retain term: NLL on retain data, or KL to the starting model on it'),
});

/** The retain term: NLL on the retain batch, or KL to the starting model; 0 without retain data. */
export function retainTerm(ctx: StepContext<{ retain_loss_type: 'NLL' | 'KL' }>, batch: StepBatch): Tensor | null {
  if (!batch.retain) return null;
  if (ctx.args.retain_loss_type === 'KL') {
    if (!ctx.reference) throw new LetheError('INTERNAL', 'the KL retain term needs the reference model');
    return klToReference(ctx.model, ctx.reference, batch.retain);
  }
  return meanNll(ctx.model, batch.retain);
}

/** gamma · forget + alpha · retain (retain left out when null), with both parts for the log. */
export function weighted(gamma: number, alpha: number, forget: Tensor, retain: Tensor | null) {
  const loss = retain ? forget.mul(gamma).add(retain.mul(alpha)) : forget.mul(gamma);
  return { loss, parts: { forget: forget.item(), ...(retain ? { retain: retain.item() } : {}) } };
}

/** gamma · forget + alpha · retain with the GradDiff retain term, with both parts for the log. */
export function combine(
  ctx: StepContext<{ gamma: number; alpha: number; retain_loss_type: 'NLL' | 'KL' }>,
  batch: StepBatch,
  forget: Tensor,
) {
  return weighted(ctx.args.gamma, ctx.args.alpha, forget, retainTerm(ctx, batch));
}

/** Per-token next-token cross-entropy of a batch, [B, T-1] (0 where the label is -100), and the 0/1
 *  mask of the counted labels (open-unlearning's CrossEntropyLoss(reduction='none') on shifted labels). */
export function tokenCrossEntropy(model: CausalLM, b: Encoded): { ce: Tensor; mask: Tensor } {
  const { logProbs, mask } = labelLogProbs(model, b.ids, b.labels, { attentionMask: b.attentionMask });
  return { ce: logProbs.neg(), mask };
}

/** Mean of x over the positions where mask is 1 (x and mask of the same shape); 0 when none are. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  return x.mul(mask).sum().div(torch.distributed.globalCount(mask.sum()).clamp(1));
}

/** The output of decoder layer `layer` (0-based), [B, T, H], before the final norm: what a forward hook
 *  on HF's model.layers.<layer> sees. hiddenStates[l + 1] is that output for every layer but the last,
 *  whose entry is after the final norm (as HF's output_hidden_states), so the last layer is refused. */
export function layerOutput(model: CausalLM, b: Encoded, layer: number): Tensor {
  const n = model.config.numLayers;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < n - 1)) {
    throw new LetheError(
      'BAD_INPUT',
      `layer ${layer} has no pre-norm output in hiddenStates; choose 0..${n - 2} (the model has ${n} decoder layers)`,
    );
  }
  const out = model.forward(b.ids, { attentionMask: b.attentionMask, outputHiddenStates: true });
  return out.hiddenStates![layer + 1]!;
}

/** RMU's activation distance (open-unlearning's compute_activation_loss): squared error averaged over
 *  the hidden size, summed over the masked tokens of each row and divided by their count, then
 *  averaged over rows. a: [B, T, H]; b: [B, T, H] or broadcastable ([H]); mask: [B, T]. */
export function activationLoss(a: Tensor, b: Tensor, mask: Tensor): Tensor {
  const m = mask.to('float32');
  const perRow = a.to('float32').sub(b.to('float32')).square().mean(2).mul(m).sum(1); // [B]
  return torch.distributed.rowMean(perRow.div(m.sum(1).clamp(1)));
}
