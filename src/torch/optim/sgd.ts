import { native } from '../native.js';
import { Optimizer, type ParamGroup } from './optimizer.js';
import type { Tensor } from '../tensor.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** torch.optim.SGD with momentum, dampening, weight decay and Nesterov momentum. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroup<SGDOptions>[], options: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options }, ['momentumBuffer']);
  }

  protected validate(o: SGDOptions): void {
    if (!(o.lr >= 0)) throw new RangeError(`SGD: lr must be >= 0, got ${o.lr}`);
    if (!(o.momentum >= 0)) throw new RangeError(`SGD: momentum must be >= 0, got ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new RangeError(`SGD: weightDecay must be >= 0, got ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new RangeError('SGD: nesterov needs momentum > 0 and dampening 0');
  }

  step(): void {
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay, nesterov } = group.hyper;
      const ps = group.params.filter((p) => native.hasGrad(p.handle));
      if (!ps.length) continue;
      if (momentum === 0) {
        native.sgdStep(
          ps.map((p) => p.handle),
          null,
          lr,
          0,
          dampening,
          weightDecay,
          nesterov,
          false,
        );
        continue;
      }
      // A parameter's first momentum step copies its gradient into the buffer; split before stepping.
      const isFirst = (p: Tensor) => (this.state.get(p)?.step ?? 0) === 0;
      const groups = [ps.filter(isFirst), ps.filter((p) => !isFirst(p))];
      groups.forEach((sel, k) => {
        if (!sel.length) return;
        const bufs = sel.map((p) => this.stateOf(p).tensors.momentumBuffer!.handle);
        native.sgdStep(
          sel.map((p) => p.handle),
          bufs,
          lr,
          momentum,
          dampening,
          weightDecay,
          nesterov,
          k === 0,
        );
        for (const p of sel) this.stateOf(p).step += 1;
      });
    }
  }
}
