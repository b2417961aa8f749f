// Turning token sequences into training batches: packing for pretraining, right-padded examples
// with -100 labels for fine-tuning. Batch order is a pure function of (seed, step), so a resumed
// run sees exactly the batches the uninterrupted run would have.
import * as torch from '../torch/index.js';
import { Rng } from '../data/rng.js';
import { IGNORE_INDEX } from '../models/loss.js';

export interface Example {
  ids: number[];
  /** Same length as ids; -100 where no loss is taken. Defaults to ids. */
  labels?: number[];
}

/** Concatenates documents (each followed by EOS) and cuts blocks of `length` tokens. */
export function packBlocks(docs: number[][], length: number, eos: number): Example[] {
  const stream: number[] = [];
  for (const d of docs) stream.push(...d, eos);
  const out: Example[] = [];
  for (let i = 0; i + length <= stream.length; i += length) out.push({ ids: stream.slice(i, i + length) });
  return out;
}

/** The examples of step `step` (0-based): epochs are seeded shuffles of the whole set. */
export function batchAt(examples: readonly Example[], batchSize: number, step: number, seed: number): Example[] {
  const n = examples.length;
  if (!n) throw new Error('no training examples');
  const out: Example[] = [];
  for (let k = 0; k < batchSize; k++) {
    const flat = step * batchSize + k;
    const epoch = Math.floor(flat / n);
    out.push(examples[epochOrder(n, seed, epoch)[flat % n]!]!);
  }
  return out;
}

const orderCache = new Map<string, number[]>();
function epochOrder(n: number, seed: number, epoch: number): number[] {
  const key = `${n}:${seed}:${epoch}`;
  let order = orderCache.get(key);
  if (!order) {
    order = new Rng(seed).fork(`epoch-${epoch}`).shuffle(Array.from({ length: n }, (_, i) => i));
    if (orderCache.size > 8) orderCache.clear();
    orderCache.set(key, order);
  }
  return order;
}

/** Right-pads a batch: ids [B, T] (pad id), labels [B, T] (-100 at pads). */
export function collate(batch: readonly Example[], padId: number): { ids: torch.Tensor; labels: torch.Tensor; tokens: number } {
  const len = Math.max(...batch.map((e) => e.ids.length));
  const ids: number[][] = [];
  const labels: number[][] = [];
  let tokens = 0;
  for (const e of batch) {
    const pad = len - e.ids.length;
    ids.push([...e.ids, ...new Array<number>(pad).fill(padId)]);
    labels.push([...(e.labels ?? e.ids), ...new Array<number>(pad).fill(IGNORE_INDEX)]);
    tokens += e.ids.length;
  }
  return { ids: torch.tensor(ids, { dtype: 'int64' }), labels: torch.tensor(labels, { dtype: 'int64' }), tokens };
}
