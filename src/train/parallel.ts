// Data parallelism for the training loop, over torch.distributed (c10d): every rank trains on its
// share of the same global batch (batches.rankShare), each loss divides by the global counts, and
// the gradients are summed across ranks in buckets, so every rank takes the one-process step on
// the whole batch. Only rank 0 writes files and progress lines.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../util/errors.js';

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
  const steps = torch.tidy(() =>
    dist.allGather(torch.tensor([step], { dtype: 'float64', device: dist.commDevice() })).map((t) => t.item()),
  );
  if (steps.some((s) => s !== steps[0])) {
    throw new LetheError(
      'BAD_CHECKPOINT',
      `[${name}] the ranks would start from different steps (${steps.map((s, r) => `rank ${r}: ${s}`).join(', ')}); every rank must see the same --out folder (a shared filesystem across hosts)`,
    );
  }
  torch.noGrad(() => {
    for (const p of trainable) {
      if (!p.isContiguous()) throw new LetheError('INTERNAL', `[${name}] a trainable tensor is not contiguous; cannot broadcast it`);
      dist.broadcast(p, 0);
    }
  });
}

/** Runs `write` on rank 0 only; every rank returns once it is done (what rank 0 wrote, the others read). */
export async function onMainRank(write: () => void | Promise<void>): Promise<void> {
  if (isMainRank()) await write();
  if (isDataParallel()) dist.barrier();
}

/** Every rank's `value` (JSON), in rank order: the ranks' bytes padded to the longest, all-gathered. */
export function allGatherJson<T>(value: T): T[] {
  if (!isDataParallel()) return [value];
  const bytes = Buffer.from(JSON.stringify(value));
  return torch.tidy(() => {
    const longest = Number(dist.allReduce(torch.tensor([bytes.length], { dtype: 'int64', device: dist.commDevice() }), 'max').item());
    const padded = new Uint8Array(longest);
    padded.set(bytes);
    return dist.allGather(torch.tensor(padded, { device: dist.commDevice() })).map((t) => {
      const b = Buffer.from(t.to('cpu').data() as Uint8Array);
      const end = b.indexOf(0);
      return JSON.parse(b.subarray(0, end < 0 ? b.length : end).toString('utf8')) as T;
    });
  });
}

/** Independent jobs (SISA's shards) spread over the ranks in rounds: in round k rank r runs job
 *  k·N + r alone (its loop with `local: true`); each round ends with every rank holding every
 *  result. A round waits for its slowest job within the group's timeout (LETHE_DIST_TIMEOUT). */
export async function roundRobin<T, R>(jobs: T[], run: (job: T) => Promise<R>): Promise<R[]> {
  const world = dist.worldSize();
  const out: R[] = [];
  for (let k = 0; k < jobs.length; k += world) {
    const mine = k + dist.rank();
    const result = mine < jobs.length ? await run(jobs[mine]!) : null;
    const all = allGatherJson(result);
    for (let r = 0; r < world && k + r < jobs.length; r++) out.push(all[r] as R);
  }
  return out;
}

/** After backward on this rank's share: sums the numbers (loss, logged parts, tokens) and the
 *  gradients across ranks. Returns the summed numbers. */
export function reduceStep(values: number[], params: Tensor[]): number[] {
  if (!isDataParallel()) return values;
  const summed = torch.tidy(
    () =>
      [
        ...dist
          .allReduce(torch.tensor(values, { dtype: 'float64', device: dist.commDevice() }), 'sum')
          .to('cpu')
          .data(),
      ] as number[],
  );
  const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  try {
    dist.allReduceBuckets(grads, 'sum');
  } finally {
    torch.dispose(grads);
  }
  return summed;
}
