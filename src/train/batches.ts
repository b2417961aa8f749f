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

/**
 * The examples of step `step` (0-based). Each epoch is a seeded shuffle, cut into groups of
 * 16 batches whose examples are sorted by length before batching (little padding), with the
 * batch order shuffled again; a short last batch is dropped.
 */
export function batchAt(examples: readonly Example[], batchSize: number, step: number, seed: number): Example[] {
  const n = examples.length;
  if (n < batchSize) throw new Error(`${n} training examples are fewer than one batch of ${batchSize}`);
  const perEpoch = Math.floor(n / batchSize);
  const epoch = Math.floor(step / perEpoch);
  return epochBatches(examples, batchSize, seed, epoch)[step % perEpoch]!.map((i) => examples[i]!);
}

// Keyed by the examples array itself: two sets of the same size sort into different batches.
const epochCache = new WeakMap<readonly Example[], Map<string, number[][]>>();
function epochBatches(examples: readonly Example[], batchSize: number, seed: number, epoch: number): number[][] {
  const key = `${batchSize}:${seed}:${epoch}`;
  let cache = epochCache.get(examples);
  if (!cache) epochCache.set(examples, (cache = new Map()));
  let batches = cache.get(key);
  if (!batches) {
    const rng = new Rng(seed).fork(`epoch-${epoch}`);
    const order = rng.shuffle(Array.from({ length: examples.length }, (_, i) => i));
    const group = batchSize * 16;
    batches = [];
    for (let g = 0; g + batchSize <= order.length; g += group) {
      const sorted = order.slice(g, g + group).sort((a, b) => examples[a]!.ids.length - examples[b]!.ids.length || a - b);
      for (let k = 0; k + batchSize <= sorted.length; k += batchSize) batches.push(sorted.slice(k, k + batchSize));
    }
    batches = rng.shuffle(batches);
    if (cache.size > 4) cache.clear();
    cache.set(key, batches);
  }
  return batches;
}

/** Right-pads a batch: ids [B, T] (pad id), labels [B, T] (-100 at pads). */
export function collate(batch: readonly Example[], padId: number, device: torch.Device = 'cpu'): { ids: torch.Tensor; labels: torch.Tensor; tokens: number } {
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
  return { ids: torch.tensor(ids, { dtype: 'int64', device }), labels: torch.tensor(labels, { dtype: 'int64', device }), tokens };
}

/** This rank's contiguous share of a global batch (all of it in one process). Data-parallel ranks
 *  each train on theirs; the losses divide by the global counts (torch.distributed.shardedLoss). */
export function rankShare<T>(batch: readonly T[]): T[] {
  const world = torch.distributed.worldSize();
  if (world === 1) return [...batch];
  if (batch.length < world) throw new Error(`a global batch of ${batch.length} rows cannot be split across ${world} processes (raise --batch-size to at least ${world})`);
  const r = torch.distributed.rank();
  return batch.slice(Math.floor((r * batch.length) / world), Math.floor(((r + 1) * batch.length) / world));
}
