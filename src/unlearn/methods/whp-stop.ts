// When WHP's fine-tune on generic labels has done its work, measured on the forget text itself: at
// the labelled positions, how often the model's greedy next token is still the original text's,
// against how often the generic labels themselves are (what a model that does not know the text
// predicts there). A model trained until it agrees with the original no more than the labels do
// predicts the book like one that never read it — however strongly the book was memorized, so the
// number of epochs follows the data rather than being tuned to one book.
import * as torch from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import { IGNORE_INDEX } from '../../models/loss.js';
import { collate, type Example } from '../../train/batches.js';

export interface Agreement {
  /** Share of labelled positions whose greedy prediction is the original next token. */
  text: number;
  /** Share of labelled positions whose generic label is the original next token. */
  labels: number;
  positions: number;
}

/** Agreement from greedy predictions: `predicted[i][p]` is the model's next token after ids[0..p] of example i. */
export function agreementOf(examples: readonly Example[], predicted: readonly (readonly number[])[]): Agreement {
  let text = 0;
  let labels = 0;
  let positions = 0;
  examples.forEach((e, i) => {
    e.labels?.forEach((label, p) => {
      if (label === IGNORE_INDEX || p === 0) return;
      positions++;
      if (predicted[i]![p - 1] === e.ids[p]) text++;
      if (label === e.ids[p]) labels++;
    });
  });
  return { text: positions ? text / positions : 0, labels: positions ? labels / positions : 0, positions };
}

/** The model's greedy next token at every position of every example (teacher-forced, no sampling). */
export function greedyNextTokens(
  model: CausalLM,
  examples: readonly Example[],
  padId: number,
  device: torch.Device,
  batchSize = 8,
): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const rows = torch.tidy(() =>
      torch.noGrad(() => {
        const { ids } = collate(chunk, padId, device);
        const mask = torch.tensor(
          chunk.map((e) => [...e.ids.map(() => 1), ...new Array<number>(ids.shape[1]! - e.ids.length).fill(0)]),
          { dtype: 'int64', device },
        );
        return model.forward(ids, { attentionMask: mask }).logits.argmax(-1).toArray() as number[][];
      }),
    );
    chunk.forEach((e, k) => out.push(rows[k]!.slice(0, e.ids.length)));
  }
  return out;
}

/** The stopping rule: the model agrees with the original text no more than the generic labels do, give or take `margin`. */
export function forgotten(a: Agreement, margin: number): boolean {
  return a.text <= a.labels + margin;
}
