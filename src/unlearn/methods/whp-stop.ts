// When WHP's fine-tune on generic labels has done its work, measured on the forget text itself: at
// the labelled positions, how often the model's greedy next token is still the original text's,
// against how often the generic labels themselves are (what a model that does not know the text
// predicts there). The fine-tune stops once the model's agreement above the labels' has fallen to a
// fraction of the starting model's: however strongly the book was memorized and whatever the lr, the
// number of epochs follows the data rather than being tuned to one book. (Measured on two books, half
// the way brought verbatim recall to within 0.05 of never-trained text at lr 1e-3 and at 1e-4; all
// the way takes three times the epochs and erodes the text that is kept: see WHP's training source.)
import * as torch from '../../torch/index.js';
import type { CausalLM } from '../../models/model.js';
import { IGNORE_INDEX } from '../../models/loss.js';
import type { Example } from '../../train/batches.js';
import { encodeBatch } from '../batch.js';

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
        const b = encodeBatch(
          chunk.map((e, row) => ({ ...e, row })),
          padId,
          device,
        );
        return model.forward(b.ids, { attentionMask: b.attentionMask }).logits.argmax(-1).toArray() as number[][];
      }),
    );
    chunk.forEach((e, k) => out.push(rows[k]!.slice(0, e.ids.length)));
  }
  return out;
}

/** The stopping rule: the model's agreement above the labels' is at most `fraction` of the starting model's. */
export function forgotten(now: Agreement, start: Agreement, fraction: number): boolean {
  return now.text - now.labels <= fraction * (start.text - start.labels);
}
