// Rows of a forget run as padded batches: what the loop's steps, the starting model's reference
// log-likelihoods and the saliency mask all feed the model.
import * as torch from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { collate, type Example } from '../train/batches.js';
import type { Encoded } from './method.js';
import { labelLogProbs } from '../models/loss.js';

/** An example with its row number in the set it came from. */
export type Row = Example & { row: number };

/** collate's right-padded batch (labels -100 on padding) plus the attention mask and row numbers. */
export function encodeBatch(examples: readonly Row[], padId: number, device: torch.Device = 'cpu'): Encoded {
  const { ids, labels, tokens } = collate(examples, padId, device);
  const len = ids.size(1);
  const mask = examples.map((e) => [...new Array<number>(e.ids.length).fill(1), ...new Array<number>(len - e.ids.length).fill(0)]);
  return { ids, labels, attentionMask: torch.tensor(mask, { dtype: 'int64', device }), rows: examples.map((e) => e.row), tokens };
}

export function disposeEncoded(e: Encoded | undefined): void {
  if (e) torch.dispose([e.ids, e.labels, e.attentionMask]);
}

/** Summed log-likelihood of each example's labelled tokens under `model`, computed once, in batches. */
export function referenceLogLiks(model: CausalLM, examples: Row[], padId: number, device: torch.Device, batchSize = 16): Float64Array {
  const out = new Float64Array(examples.length);
  // Batches of similar length: little padding in this one pass over every item.
  const sorted = [...examples].sort((a, b) => a.ids.length - b.ids.length);
  for (let i = 0; i < sorted.length; i += batchSize) {
    const chunk = sorted.slice(i, i + batchSize);
    const b = encodeBatch(chunk, padId, device);
    try {
      const values = torch.tidy(() =>
        torch.noGrad(() => {
          return labelLogProbs(model, b.ids, b.labels, { attentionMask: b.attentionMask })
            .logProbs.sum(1)
            .to('float64')
            .toArray() as number[];
        }),
      );
      chunk.forEach((e, k) => (out[e.row] = values[k]!));
    } finally {
      disposeEncoded(b);
    }
  }
  return out;
}
