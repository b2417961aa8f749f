import { native } from '../native.js';
import type { Tensor } from '../tensor.js';

/**
 * torch.nn.utils.clip_grad_norm_: scales the gradients of `params` in place so that their total
 * norm is at most maxNorm; returns the total norm before clipping.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2, options: { errorIfNonfinite?: boolean } = {}): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  return native.clipGradNorm(
    params.map((p) => p.handle),
    maxNorm,
    normType,
    options.errorIfNonfinite ?? false,
  );
}
