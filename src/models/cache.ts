import type { Tensor } from '../torch/index.js';
import * as torch from '../torch/index.js';

/** Keys and values of every layer, [B, kvHeads, T, headDim] each: the KV cache of generation. */
export class KVCache {
  constructor(readonly layers: { k: Tensor; v: Tensor }[] = []) {}

  /** Number of cached positions. */
  get length(): number {
    return this.layers.length ? this.layers[0]!.k.size(2) : 0;
  }

  /** Exempts the cache's tensors from enclosing tidy() scopes. */
  keep(): this {
    for (const l of this.layers) {
      torch.keep(l.k);
      torch.keep(l.v);
    }
    return this;
  }

  dispose(): void {
    for (const l of this.layers) {
      l.k.dispose();
      l.v.dispose();
    }
  }
}
