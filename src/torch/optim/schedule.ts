// Learning-rate schedules as in transformers' get_linear/cosine_schedule_with_warmup: the lr is
// the base lr times a factor of the step count.
import type { Optimizer } from './optimizer.js';

export class LRScheduler {
  private readonly baseLrs: number[];
  /** Number of step() calls so far. */
  lastStep = 0;

  constructor(
    private readonly optimizer: Optimizer<{ lr: number }>,
    readonly factor: (step: number) => number,
  ) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.hyper.lr);
    this.apply();
  }

  /** Call after optimizer.step(). */
  step(): void {
    this.lastStep += 1;
    this.apply();
  }

  get lr(): number {
    return this.optimizer.paramGroups[0]!.hyper.lr;
  }

  stateDict(): { lastStep: number } {
    return { lastStep: this.lastStep };
  }

  loadStateDict(sd: { lastStep: number }): void {
    this.lastStep = sd.lastStep;
    this.apply();
  }

  private apply(): void {
    const f = this.factor(this.lastStep);
    this.optimizer.paramGroups.forEach((g, k) => (g.hyper.lr = this.baseLrs[k]! * f));
  }
}

function checkSteps(name: string, warmupSteps: number, totalSteps: number): void {
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0))
    throw new RangeError(`${name}: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  if (!(Number.isInteger(totalSteps) && totalSteps > 0))
    throw new RangeError(`${name}: totalSteps must be an integer > 0, got ${totalSteps}`);
}

/** Linear warmup from 0 to the base lr, then linear decay to 0 at totalSteps. */
export function linearWarmupDecay(optimizer: Optimizer<{ lr: number }>, o: { warmupSteps: number; totalSteps: number }): LRScheduler {
  checkSteps('linearWarmupDecay', o.warmupSteps, o.totalSteps);
  return new LRScheduler(optimizer, (step) => {
    if (step < o.warmupSteps) return step / Math.max(1, o.warmupSteps);
    return Math.max(0, (o.totalSteps - step) / Math.max(1, o.totalSteps - o.warmupSteps));
  });
}

/** Linear warmup, then a half cosine from the base lr down to minLrRatio × base at totalSteps. */
export function cosineWarmup(
  optimizer: Optimizer<{ lr: number }>,
  o: { warmupSteps: number; totalSteps: number; minLrRatio?: number },
): LRScheduler {
  checkSteps('cosineWarmup', o.warmupSteps, o.totalSteps);
  const floor = o.minLrRatio ?? 0;
  return new LRScheduler(optimizer, (step) => {
    if (step < o.warmupSteps) return step / Math.max(1, o.warmupSteps);
    const progress = Math.min(1, (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps));
    return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  });
}

/** The base lr throughout (after an optional linear warmup). */
export function constantWarmup(optimizer: Optimizer<{ lr: number }>, o: { warmupSteps: number } = { warmupSteps: 0 }): LRScheduler {
  return new LRScheduler(optimizer, (step) => (step < o.warmupSteps ? step / Math.max(1, o.warmupSteps) : 1));
}
