// Turning token sequences into training batches: packing for pretraining, right-padded examples
// with -100 labels for fine-tuning. Batch order is a pure function of (seed, step), so a resumed
// run sees exactly the batches the uninterrupted run would have.
import * as torch from '../torch/index.js';
import { Rng } from '../data/rng.js';
import { IGNORE_INDEX } from '../models/loss.js';
import { LetheError } from '../util/errors.js';

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

// How an epoch is cut. Every example is used once per epoch, and no batch is dropped: an epoch
// of n examples at batch size B has ceil(n/B) batches whose sizes differ by at most one (20 rows
// at B 8: 7, 7, 6), so the rows left over by B are neither dropped nor crowded into a tiny batch
// that would weigh them more, and every batch can be split across data-parallel ranks. For little
// padding, a group of 16 batches is sorted by length and cut in windows of 4 batches; the rows of
// a window are shuffled among its batches, so which rows train together changes every epoch.
const GROUP_BATCHES = 16;
const WINDOW_BATCHES = 4;

/** Optimizer steps of one pass over n examples (the last batches a row shorter when B does not divide n). */
export function stepsPerEpoch(n: number, batchSize: number): number {
  if (!(Number.isInteger(n) && n > 0)) throw new LetheError('BAD_INPUT', `an epoch needs at least one example, got ${n}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new LetheError('BAD_INPUT', `the batch size must be a positive integer, got ${batchSize}`);
  return Math.ceil(n / batchSize);
}

/** The size of each batch of an epoch: ceil(n/B) batches, the first n mod k of them one row larger. */
export function batchSizes(n: number, batchSize: number): number[] {
  const k = stepsPerEpoch(n, batchSize);
  const small = Math.floor(n / k);
  return Array.from({ length: k }, (_, i) => (i < n % k ? small + 1 : small));
}

/**
 * The examples of step `step` (0-based): batch `step mod k` of epoch `floor(step / k)`, k =
 * stepsPerEpoch. A pure function of (examples, batchSize, step, seed), so a resumed run sees the
 * batches of an uninterrupted one. Fewer examples than batchSize give one batch of all of them.
 */
export function batchAt(examples: readonly Example[], batchSize: number, step: number, seed: number): Example[] {
  const perEpoch = stepsPerEpoch(examples.length, batchSize);
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
    batches = cutEpoch(
      examples.map((e) => e.ids.length),
      batchSize,
      new Rng(seed).fork(`epoch-${epoch}`),
    );
    if (cache.size > 4) cache.clear();
    cache.set(key, batches);
  }
  return batches;
}

/** One epoch's batches of example indices, from the examples' lengths. */
export function cutEpoch(lengths: readonly number[], batchSize: number, rng: Rng): number[][] {
  const sizes = batchSizes(lengths.length, batchSize);
  const order = rng.shuffle(lengths.map((_, i) => i));
  const batches: number[][] = [];
  let pos = 0;
  for (let g = 0; g < sizes.length; g += GROUP_BATCHES) {
    const groupSizes = sizes.slice(g, g + GROUP_BATCHES);
    const rows = order.slice(pos, (pos += sum(groupSizes)));
    // A stable sort: rows of equal length keep their shuffled order.
    rows.sort((a, b) => lengths[a]! - lengths[b]!);
    let at = 0;
    for (let w = 0; w < groupSizes.length; w += WINDOW_BATCHES) {
      const windowSizes = groupSizes.slice(w, w + WINDOW_BATCHES);
      const window = rng.shuffle(rows.slice(at, (at += sum(windowSizes))));
      let k = 0;
      for (const size of windowSizes) batches.push(window.slice(k, (k += size)));
    }
  }
  return rng.shuffle(batches);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Right-pads a batch: ids [B, T] (pad id), labels [B, T] (-100 at pads). */
export function collate(
  batch: readonly Example[],
  padId: number,
  device: torch.Device = 'cpu',
): { ids: torch.Tensor; labels: torch.Tensor; tokens: number } {
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
  if (batch.length < world)
    throw new LetheError(
      'BAD_INPUT',
      `a global batch of ${batch.length} rows cannot be split across ${world} processes (an epoch's batches hold at least half of --batch-size rows, or all rows of a smaller set: raise --batch-size to at least ${2 * world})`,
    );
  const r = torch.distributed.rank();
  return batch.slice(Math.floor((r * batch.length) / world), Math.floor(((r + 1) * batch.length) / world));
}
