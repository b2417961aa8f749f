// Autograd on libtorch's engine: noGrad, grad, variableGrads.
import { native, type NativeHandle } from './native.js';
import { Tensor } from './tensor.js';
import { tidy } from './memory.js';

/** Runs `fn` with gradient recording off (PyTorch's `torch.no_grad()`). `fn` must be synchronous. */
export function noGrad<T>(fn: () => T): T {
  const previous: boolean = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    const result = fn();
    if (result instanceof Promise) throw new Error('noGrad: the function returned a Promise; noGrad only works with synchronous functions');
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` with gradient recording on, even inside noGrad (PyTorch's `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  const previous: boolean = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradOptions {
  /** Gradients of the outputs (defaults to ones for scalar outputs). */
  gradOutputs?: Tensor[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Give null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/** `torch.autograd.grad`: gradients of `outputs` with respect to `inputs`, without touching `.grad`. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const handles: (NativeHandle | null)[] = native.autogradGrad(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    options.gradOutputs ? options.gradOutputs.map((t) => t.handle) : null,
    options.retainGraph ?? null,
    options.createGraph ?? false,
    options.allowUnused ?? false,
  );
  return handles.map((hd) => (hd ? new Tensor(hd) : null));
}

type Params = Tensor[] | Record<string, Tensor>;
type GradsOf<P> = P extends Tensor[] ? Tensor[] : Record<string, Tensor>;

/**
 * tfjs's variableGrads: runs `fn` (which returns a scalar tensor) and returns its value and the
 * gradients of it with respect to `params` (an array or a name → tensor record, mirrored in the
 * result). Intermediate tensors are freed; the value is detached.
 */
export function variableGrads<P extends Params>(fn: () => Tensor, params: P): { value: Tensor; grads: GradsOf<P> } {
  const list = Array.isArray(params) ? params : Object.values(params);
  const names = Array.isArray(params) ? null : Object.keys(params);
  for (const [k, p] of list.entries()) {
    if (!(p instanceof Tensor)) throw new TypeError(`variableGrads: params[${names ? names[k] : k}] is not a Tensor`);
    if (!p.requiresGrad) throw new Error(`variableGrads: params[${names ? names[k] : k}] does not require grad (set requiresGrad = true)`);
  }
  return tidy(() => {
    const value = fn();
    if (!(value instanceof Tensor)) throw new TypeError('variableGrads: fn must return a Tensor');
    if (value.numel() !== 1) throw new Error(`variableGrads: fn must return a scalar tensor, got shape [${value.shape}]`);
    const gs = grad(value, list, { allowUnused: true }).map((g, k) => g ?? zerosFor(list[k]!));
    const grads = names ? Object.fromEntries(names.map((n, k) => [n, gs[k]!])) : gs;
    return { value: value.detach(), grads: grads as GradsOf<P> };
  });
}

function zerosFor(p: Tensor): Tensor {
  return new Tensor(native.zerosLike(p.handle, null));
}
