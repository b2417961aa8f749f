import { native } from '../native.js';
import { Optimizer, type ParamGroup } from './optimizer.js';
import type { Tensor } from '../tensor.js';

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  /** Decoupled weight decay (PyTorch's default 0.01). */
  weightDecay: number;
}

/** torch.optim.AdamW: Adam with decoupled weight decay; one native call updates a whole group. */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Tensor[] | ParamGroup<AdamWOptions>[], options: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, ...options }, ['expAvg', 'expAvgSq']);
  }

  protected validate(o: AdamWOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`AdamW: lr must be >= 0, got ${o.lr}`);
    if (!(o.eps >= 0)) throw new RangeError(`AdamW: eps must be >= 0, got ${o.eps}`);
    if (!Array.isArray(o.betas) || o.betas.length !== 2 || !o.betas.every((b) => b >= 0 && b < 1)) {
      throw new RangeError(`AdamW: betas must be two numbers in [0, 1), got ${JSON.stringify(o.betas)}`);
    }
    if (!(o.weightDecay >= 0)) throw new RangeError(`AdamW: weightDecay must be >= 0, got ${o.weightDecay}`);
  }

  step(): void {
    for (const group of this.paramGroups) {
      const withGrad = group.params.filter((p) => native.hasGrad(p.handle));
      if (!withGrad.length) continue;
      // Parameters of one group share a step count unless they started at different steps.
      const byStep = new Map<number, Tensor[]>();
      for (const p of withGrad) {
        const s = this.stateOf(p);
        s.step += 1;
        const list = byStep.get(s.step) ?? [];
        list.push(p);
        byStep.set(s.step, list);
      }
      const { lr, betas, eps, weightDecay } = group.hyper;
      for (const [step, ps] of byStep) {
        const states = ps.map((p) => this.state.get(p)!.tensors);
        native.adamwStep(
          ps.map((p) => p.handle),
          states.map((s) => s.expAvg!.handle),
          states.map((s) => s.expAvgSq!.handle),
          step,
          lr,
          betas[0],
          betas[1],
          eps,
          weightDecay,
        );
      }
    }
  }
}
