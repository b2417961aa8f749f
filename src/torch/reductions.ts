// max/min: PyTorch overloads that the op table keeps as two natives each.
import { maxAll, maxDim, minAll, minDim } from './ops.gen.js';
import type { Tensor } from './tensor.js';

/** `max(x)` → the largest element; `max(x, dim, keepdim)` → {values, indices}. */
export function max(input: Tensor): Tensor;
export function max(input: Tensor, dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
export function max(input: Tensor, dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
  return dim === undefined ? maxAll(input) : maxDim(input, dim, keepdim);
}

/** `min(x)` → the smallest element; `min(x, dim, keepdim)` → {values, indices}. */
export function min(input: Tensor): Tensor;
export function min(input: Tensor, dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
export function min(input: Tensor, dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
  return dim === undefined ? minAll(input) : minDim(input, dim, keepdim);
}

export interface ReductionMethods {
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
}

export const reductionMethods = {
  max(this: Tensor, dim?: number, keepdim?: boolean) {
    return dim === undefined ? maxAll(this) : maxDim(this, dim, keepdim);
  },
  min(this: Tensor, dim?: number, keepdim?: boolean) {
    return dim === undefined ? minAll(this) : minDim(this, dim, keepdim);
  },
};
