// The attention mask both families share: causal, plus padding from a [B, Tk] 0/1 mask, as an
// additive bias with the dtype's minimum (not -inf, so fully padded rows stay finite, as in HF).
import * as torch from '../torch/index.js';
import { LetheError } from '../util/errors.js';

const DTYPE_MIN: Partial<Record<torch.DType, number>> = {
  float32: -3.4028234663852886e38,
  float64: -1.7976931348623157e308,
  bfloat16: -3.3895313892515355e38,
  float16: -65504,
};

export type AttentionBias = { kind: 'none' } | { kind: 'causal' } | { kind: 'bias'; bias: torch.Tensor };

/** What SDPA needs for queries at positions pastLen..pastLen+Tq-1 over keys 0..pastLen+Tq-1. */
export function attentionBias(
  attentionMask: torch.Tensor | undefined,
  batch: number,
  queryLen: number,
  pastLen: number,
  dtype: torch.DType,
  device: string,
): AttentionBias {
  const keyLen = pastLen + queryLen;
  if (!attentionMask) {
    if (queryLen === 1) return { kind: 'none' };
    if (pastLen === 0) return { kind: 'causal' };
  } else {
    const shape = attentionMask.shape;
    if (shape.length !== 2 || shape[0] !== batch || shape[1] !== keyLen) {
      throw new LetheError('BAD_INPUT', `attentionMask must have shape [${batch}, ${keyLen}] (batch, past + new tokens), got [${shape}]`);
    }
  }
  const dev = device as torch.Device;
  const keyPos = torch.arange(keyLen, null, 1, { device: dev }).unsqueeze(0); // [1, Tk]
  const queryPos = torch.arange(pastLen, keyLen, 1, { device: dev }).unsqueeze(1); // [Tq, 1]
  let keep = keyPos.le(queryPos).view([1, 1, queryLen, keyLen]);
  if (attentionMask) keep = keep.logicalAnd(attentionMask.to('bool').view([batch, 1, 1, keyLen])); // [B, 1, Tq, Tk]
  const bias = torch.zeros(keep.shape, { dtype, device: dev }).maskedFill(keep.logicalNot(), DTYPE_MIN[dtype] ?? -1e30);
  return { kind: 'bias', bias };
}

/** F.scaled_dot_product_attention with the bias above. q: [B,H,Tq,D], k/v: [B,H,Tk,D]. */
export function attend(
  q: torch.Tensor,
  k: torch.Tensor,
  v: torch.Tensor,
  bias: AttentionBias,
  scale: number,
  dropoutP: number,
): torch.Tensor {
  if (bias.kind === 'causal') return torch.scaledDotProductAttention(q, k, v, { isCausal: true, scale, dropoutP });
  if (bias.kind === 'bias') return torch.scaledDotProductAttention(q, k, v, { attnMask: bias.bias, scale, dropoutP });
  return torch.scaledDotProductAttention(q, k, v, { scale, dropoutP });
}

/** GQA: [B, kvH, T, D] → [B, kvH·nRep, T, D], each key/value head serving nRep query heads. */
export function repeatKv(x: torch.Tensor, nRep: number): torch.Tensor {
  if (nRep === 1) return x;
  const [b, kvh, t, d] = x.shape as [number, number, number, number];
  return x
    .unsqueeze(2)
    .expand([b, kvh, nRep, t, d])
    .reshape([b, kvh * nRep, t, d]);
}
