// Shared optimizer machinery: parameter groups, lazily created state tensors (kept out of tidy),
// zeroGrad, and stateDict/loadStateDict for resuming a run.
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { keep } from '../memory.js';
import { noGrad } from '../autograd.js';
import { zerosLike } from '../ops.gen.js';
import { LetheError } from '../../util/errors.js';

export interface ParamGroup<H> {
  params: Tensor[];
  /** Overrides of the optimizer's defaults for this group. */
  options?: Partial<H>;
}

export interface OptimizerStateDict<H> {
  /** Per parameter (in group order): its step count and state tensors. */
  state: { step: number; tensors: Record<string, Tensor> }[];
  paramGroups: (H & { params: number[] })[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: { params: Tensor[]; hyper: H }[];
  protected readonly state = new Map<Tensor, { step: number; tensors: Record<string, Tensor> }>();

  constructor(
    params: Tensor[] | ParamGroup<H>[],
    defaults: H,
    protected readonly stateNames: readonly string[],
  ) {
    if (!Array.isArray(params) || params.length === 0)
      throw new TypeError(`${this.constructor.name}: params must be a non-empty array of tensors or parameter groups`);
    const groups: ParamGroup<H>[] = params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as ParamGroup<H>[]);
    this.paramGroups = groups.map((g, gi) => {
      g.params.forEach((p, k) => {
        if (!(p instanceof Tensor)) throw new TypeError(`${this.constructor.name}: group ${gi} param ${k} is not a Tensor`);
        if (!p.requiresGrad) throw new Error(`${this.constructor.name}: group ${gi} param ${k} (shape [${p.shape}]) does not require grad`);
      });
      const hyper = { ...defaults, ...(g.options ?? {}) };
      this.validate(hyper);
      return { params: g.params, hyper };
    });
  }

  /** Learning rate of the first group; setting it sets every group's (schedulers use this). */
  get lr(): number {
    return this.paramGroups[0]!.hyper.lr;
  }

  set lr(value: number) {
    for (const g of this.paramGroups) g.hyper.lr = value;
  }

  protected abstract validate(hyper: H): void;

  /** Applies one update from the parameters' current `.grad`. */
  abstract step(): void;

  /** Clears gradients: by default sets them to null, as PyTorch 2 does. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups)
      native.zeroGrad(
        g.params.map((p) => p.handle),
        setToNone,
      );
  }

  /** The state of `p`, created (zeros like p, kept out of tidy) at first use. */
  protected stateOf(p: Tensor): { step: number; tensors: Record<string, Tensor> } {
    let s = this.state.get(p);
    if (!s) {
      const tensors: Record<string, Tensor> = {};
      noGrad(() => {
        for (const name of this.stateNames) tensors[name] = keep(zerosLike(p));
      });
      s = { step: 0, tensors };
      this.state.set(p, s);
    }
    return s;
  }

  stateDict(): OptimizerStateDict<H> {
    let index = 0;
    const state: OptimizerStateDict<H>['state'] = [];
    const paramGroups = this.paramGroups.map((g) => {
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        state.push(s ? { step: s.step, tensors: { ...s.tensors } } : { step: 0, tensors: {} });
        ids.push(index++);
      }
      return { ...g.hyper, params: ids };
    });
    return { state, paramGroups };
  }

  /** Restores state from stateDict() (copies the tensors; shapes must match the parameters). */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    const params = this.paramGroups.flatMap((g) => g.params);
    if (sd.state.length !== params.length || sd.paramGroups.length !== this.paramGroups.length) {
      throw new LetheError(
        'BAD_CHECKPOINT',
        `${this.constructor.name}.loadStateDict: state has ${sd.state.length} params in ${sd.paramGroups.length} groups, ` +
          `the optimizer has ${params.length} in ${this.paramGroups.length}`,
      );
    }
    sd.paramGroups.forEach((g, gi) => {
      const { params: _ids, ...hyper } = g;
      this.paramGroups[gi]!.hyper = { ...this.paramGroups[gi]!.hyper, ...hyper } as H;
    });
    params.forEach((p, k) => {
      const entry = sd.state[k]!;
      const old = this.state.get(p);
      if (old) for (const t of Object.values(old.tensors)) t.dispose();
      this.state.delete(p);
      if (Object.keys(entry.tensors).length === 0) return;
      const tensors: Record<string, Tensor> = {};
      for (const name of this.stateNames) {
        const t = entry.tensors[name];
        if (!t) throw new LetheError('BAD_CHECKPOINT', `${this.constructor.name}.loadStateDict: param ${k} lacks state '${name}'`);
        if (t.shape.join() !== p.shape.join()) {
          throw new LetheError(
            'BAD_CHECKPOINT',
            `${this.constructor.name}.loadStateDict: state '${name}' of param ${k} has shape [${t.shape}], the param [${p.shape}]`,
          );
        }
        tensors[name] = keep(noGrad(() => t.to({ dtype: p.dtype, device: p.device as never, copy: true })));
      }
      this.state.set(p, { step: entry.step, tensors });
    });
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }
}
