// Next-token losses: HF's causal LM loss (labels shifted inside, -100 ignored) and the
// per-sequence log-likelihoods every unlearning method and metric needs.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../util/errors.js';

export const IGNORE_INDEX = -100;

/** Mean next-token cross-entropy over labels that are not -100 (logits [B,T,V], labels [B,T]), as HF computes it. */
export function causalLmLoss(logits: Tensor, labels: Tensor, ignoreIndex = IGNORE_INDEX): Tensor {
  const [b, t, v] = logits.shape as [number, number, number];
  if (labels.shape.join() !== [b, t].join())
    throw new LetheError('BAD_INPUT', `labels must have shape [${b}, ${t}], got [${labels.shape}]`);
  const shiftLogits = logits
    .narrow(1, 0, t - 1)
    .to('float32')
    .reshape([-1, v]);
  const shiftLabels = labels.narrow(1, 1, t - 1).reshape([-1]);
  // A batch split across ranks: this rank's token sum over every rank's labelled tokens.
  if (torch.distributed.isSharded())
    return torch.distributed.shardMean(
      torch.crossEntropy(shiftLogits, shiftLabels, { ignoreIndex, reduction: 'sum' }),
      shiftLabels.ne(ignoreIndex).sum().to('float32'),
    );
  return torch.crossEntropy(shiftLogits, shiftLabels, { ignoreIndex });
}

export interface TokenLogProbs {
  /** [B, T-1]: log p(label[t+1] | ..t), 0 where the label is ignored. */
  logProbs: Tensor;
  /** [B, T-1]: 1 where the label counts. */
  mask: Tensor;
}

/** Per-token log-probabilities of the next-token labels. */
export function tokenLogProbs(logits: Tensor, labels: Tensor, ignoreIndex = IGNORE_INDEX): TokenLogProbs {
  const t = logits.size(1);
  const lp = torch.logSoftmax(logits.narrow(1, 0, t - 1).to('float32'), -1); // [B, T-1, V]
  const next = labels.narrow(1, 1, t - 1); // [B, T-1]
  const mask = next.ne(ignoreIndex);
  const safe = torch.where(mask, next, 0);
  const picked = lp.gather(2, safe.unsqueeze(-1)).squeeze(-1);
  return { logProbs: picked.mul(mask), mask: mask.to('float32') };
}

/** Per-sequence NLL [B]: summed over counted tokens, or their mean. */
export function sequenceNll(logits: Tensor, labels: Tensor, reduction: 'sum' | 'mean' = 'sum', ignoreIndex = IGNORE_INDEX): Tensor {
  const { logProbs, mask } = tokenLogProbs(logits, labels, ignoreIndex);
  const sum = logProbs.sum(1).neg();
  return reduction === 'sum' ? sum : sum.div(mask.sum(1).clamp(1));
}
