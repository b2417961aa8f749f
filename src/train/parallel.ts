// Data parallelism for the training loop, over torch.distributed (c10d): every rank trains on its
// share of the same global batch (batches.rankShare), each loss divides by the global counts, and
// the gradients are summed across ranks in buckets, so every rank takes the one-process step on
// the whole batch. Only rank 0 writes files and progress lines.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../errors.js';

const dist = torch.distributed;

export function isDataParallel(): boolean {
  return dist.worldSize() > 1;
}

/** Rank 0 (or the only process): the one that writes outputs, logs and checkpoints. */
export function isMainRank(): boolean {
  return dist.rank() === 0;
}

/** Before the first step: every rank must resume from the same step; rank 0's weights are then
 *  broadcast, so all ranks start identical even if their loading differed. */
export function syncStart(name: string, step: number, trainable: Tensor[]): void {
  if (!isDataParallel()) return;
  const steps = torch.tidy(() => dist.allGather(torch.tensor([step], { dtype: 'float64' })).map((t) => t.item()));
  if (steps.some((s) => s !== steps[0])) {
    throw new LetheError('BAD_CHECKPOINT', `[${name}] the ranks would start from different steps (${steps.map((s, r) => `rank ${r}: ${s}`).join(', ')}); every rank must see the same --out folder (a shared filesystem across hosts)`);
  }
  torch.noGrad(() => {
    for (const p of trainable) {
      if (!p.isContiguous()) throw new Error(`[${name}] a trainable tensor is not contiguous; cannot broadcast it`);
      dist.broadcast(p, 0);
    }
  });
}

/** Runs `write` on rank 0 only; every rank returns once it is done (what rank 0 wrote, the others read). */
export async function onMainRank(write: () => void | Promise<void>): Promise<void> {
  if (isMainRank()) await write();
  if (isDataParallel()) dist.barrier();
}

/** After backward on this rank's share: sums the numbers (loss, logged parts, tokens) and the
 *  gradients across ranks. Returns the summed numbers. */
export function reduceStep(values: number[], params: Tensor[]): number[] {
  if (!isDataParallel()) return values;
  const summed = torch.tidy(() => [...dist.allReduce(torch.tensor(values, { dtype: 'float64' }), 'sum').data()] as number[]);
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  try {
    dist.allReduceBuckets(grads, 'sum');
  } finally {
    torch.dispose(grads);
  }
  return summed;
}
