// Next-token losses: HF's causal LM loss (labels shifted inside, -100 ignored) and the
// per-sequence log-likelihoods every unlearning method and metric needs.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../util/errors.js';
import type { CausalLM, ForwardOptions } from './model.js';

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

/** fp32 elements of logits converted at once by pickedLogProbs (64 MB): a long batch over a large
 *  vocabulary is read in row chunks instead of one [N, V] fp32 copy. */
const CHUNK_ELEMENTS = 1 << 24;

/** The positions whose next token is labelled, as flat indices into the B·T positions (row-major),
 *  and the label each one predicts. */
export function labelledPositions(labels: Tensor, ignoreIndex = IGNORE_INDEX): { positions: Tensor; targets: Tensor } {
  const [b, t] = labels.shape as [number, number];
  const counted = torch.cat(
    [labels.narrow(1, 1, t - 1).ne(ignoreIndex), torch.zeros([b, 1], { dtype: 'bool', device: labels.device as torch.Device })],
    1,
  );
  const positions = torch.nonzero(counted.reshape([-1])).squeeze(-1); // [N]
  return { positions, targets: labels.reshape([-1]).indexSelect(0, positions.add(1)) };
}

/** log p(target) for each row of logits [N, V], in fp32 row chunks. */
export function pickedLogProbs(logits: Tensor, targets: Tensor): Tensor {
  const [n, v] = logits.shape as [number, number];
  const rows = Math.max(1, Math.floor(CHUNK_ELEMENTS / v));
  const part = (from: number, len: number) =>
    torch.crossEntropy(logits.narrow(0, from, len).to('float32'), targets.narrow(0, from, len), { reduction: 'none' }).neg();
  if (n <= rows) return part(0, n);
  const parts: Tensor[] = [];
  for (let from = 0; from < n; from += rows) parts.push(part(from, Math.min(rows, n - from)));
  return torch.cat(parts, 0);
}

/** tokenLogProbs(model.forward(ids).logits, labels) with the LM head applied only where a label
 *  counts: the same [B, T-1] log-probabilities (0 where ignored) and mask, without projecting a
 *  QA prompt or the padding onto the vocabulary. */
export function labelLogProbs(
  model: CausalLM,
  ids: Tensor,
  labels: Tensor,
  options: ForwardOptions = {},
  ignoreIndex = IGNORE_INDEX,
): TokenLogProbs {
  const [b, t] = labels.shape as [number, number];
  const { positions, targets } = labelledPositions(labels, ignoreIndex);
  const picked = pickedLogProbs(model.logitsAt(ids, positions, options), targets);
  const flat = torch.scatter(torch.zeros([b * t], { dtype: 'float32', device: labels.device as torch.Device }), 0, positions, picked);
  return {
    logProbs: flat.reshape([b, t]).narrow(1, 0, t - 1),
    mask: labels
      .narrow(1, 1, t - 1)
      .ne(ignoreIndex)
      .to('float32'),
  };
}

/** HF's causal LM loss (mean next-token NLL over the labelled tokens) of the model on a batch, with
 *  the LM head only on labelled positions; across data-parallel ranks, the mean over every rank's tokens. */
export function modelLoss(model: CausalLM, ids: Tensor, labels: Tensor, options: ForwardOptions = {}, ignoreIndex = IGNORE_INDEX): Tensor {
  const { positions, targets } = labelledPositions(labels, ignoreIndex);
  const nll = pickedLogProbs(model.logitsAt(ids, positions, options), targets).neg();
  if (torch.distributed.isSharded()) return torch.distributed.shardMean(nll.sum(), nll.size(0));
  return nll.mean();
}
