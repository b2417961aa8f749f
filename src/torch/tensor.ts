// The Tensor class: a thin owner of a native handle. Ops live in ops.gen.ts (generated from the
// op table) and are attached as methods in index.ts; this file holds what is not an op.
import { inspect } from 'node:util';
import { native, type NativeHandle } from './native.js';
import { track } from './scope.js';
import type { DType, Device, NestedArray } from './types.js';
import type { TensorMethods } from './ops.gen.js';
import type { ReductionMethods } from './reductions.js';

export type TypedData = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

export interface ToOptions {
  dtype?: DType;
  device?: Device;
  /** Always return a new tensor, even when nothing changes. */
  copy?: boolean;
}

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

// Declaration merging: the generated ops are also methods (see index.ts).
export interface Tensor extends TensorMethods, ReductionMethods {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface's methods are attached to the prototype at load (index.ts)
export class Tensor {
  /** The native libtorch tensor; internal. */
  readonly handle: NativeHandle;
  /** Set by keep(): tidy() leaves this tensor alone. */
  kept = false;
  /** Set by dispose() (the native table is the authority; this spares a call on hot paths). */
  disposed = false;

  constructor(handle: NativeHandle) {
    this.handle = handle;
    track(this);
  }

  get shape(): number[] {
    return native.shape(this.handle);
  }

  get dtype(): DType {
    return native.dtype(this.handle);
  }

  get device(): string {
    return native.device(this.handle);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  numel(): number {
    return native.numel(this.handle);
  }

  /** The size of one dim (negative counts from the end), or the whole shape. */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    const shape = this.shape;
    if (dim === undefined) return shape;
    const d = dim < 0 ? dim + shape.length : dim;
    if (d < 0 || d >= shape.length) throw new RangeError(`size: dim ${dim} is out of range for a tensor of shape [${shape}]`);
    return shape[d]!;
  }

  /**
   * The elements as a typed array (a copy, row-major). float16/bfloat16 come back as Float32Array,
   * bool as Uint8Array, int64 as BigInt64Array.
   */
  data(): TypedData {
    const buf: ArrayBuffer = native.toBuffer(this.handle);
    switch (this.dtype) {
      case 'float32':
      case 'float16':
      case 'bfloat16':
        return new Float32Array(buf);
      case 'float64':
        return new Float64Array(buf);
      case 'int64':
        return new BigInt64Array(buf);
      case 'int32':
        return new Int32Array(buf);
      case 'int16':
        return new Int16Array(buf);
      case 'int8':
        return new Int8Array(buf);
      case 'uint8':
      case 'bool':
        return new Uint8Array(buf);
    }
  }

  /** Nested JS arrays (numbers; booleans for bool tensors); a 0-dim tensor gives a number. */
  toArray(): NestedArray {
    const shape = this.shape;
    const flat = this.data();
    const isBool = this.dtype === 'bool';
    const at = (k: number): number | boolean => {
      const v = flat[k]!;
      return typeof v === 'bigint' ? Number(v) : isBool ? v !== 0 : v;
    };
    if (shape.length === 0) return at(0);
    let offset = 0;
    const build = (dim: number): NestedArray[] => {
      const out: NestedArray[] = new Array(shape[dim]!);
      for (let k = 0; k < shape[dim]!; k++) out[k] = dim === shape.length - 1 ? at(offset++) : build(dim + 1);
      return out;
    };
    return build(0);
  }

  /** The value of a one-element tensor (bool gives 1 or 0). */
  item(): number {
    return Number(native.item(this.handle));
  }

  /** Converts dtype and/or device: `t.to('float64')`, `t.to('cuda')`, `t.to({dtype, device, copy})`. */
  to(target: DType | Device | ToOptions): Tensor {
    const opts: ToOptions = typeof target === 'string' ? (isDevice(target) ? { device: target } : { dtype: target as DType }) : target;
    return new Tensor(native.to(this.handle, opts.dtype ?? null, opts.device ?? null, opts.copy ?? false));
  }

  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  cpu(): Tensor {
    return this.to('cpu');
  }
  cuda(index = 0): Tensor {
    return this.to(`cuda:${index}`);
  }

  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }

  set requiresGrad(value: boolean) {
    native.setRequiresGrad(this.handle, value);
  }

  /** PyTorch's `requires_grad_()`: sets the flag and returns this tensor. */
  requiresGrad_(value = true): this {
    native.setRequiresGrad(this.handle, value);
    return this;
  }

  /** The accumulated gradient (a new tensor object sharing its memory), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g ? new Tensor(g) : null;
  }

  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value ? value.handle : null);
  }

  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }

  /** Name of the autograd node that made this tensor, or null for leaves. */
  get gradFn(): string | null {
    return native.gradFnName(this.handle);
  }

  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }

  isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }

  /** Computes gradients of this tensor into the `.grad` of the leaves it depends on. */
  backward(gradient?: Tensor | null, options: BackwardOptions = {}): void {
    native.backward(this.handle, gradient ? gradient.handle : null, options.retainGraph ?? null, options.createGraph ?? false);
  }

  /** Frees the native memory now. Idempotent; any later use is an Error. */
  dispose(): void {
    native.dispose(this.handle);
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return native.isDisposed(this.handle);
  }

  toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    const head = `shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}`;
    if (this.numel() > 64) return `Tensor(${head})`;
    return `Tensor(${JSON.stringify(this.toArray())}, ${head})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function isDevice(s: string): s is Device {
  return s === 'cpu' || s === 'cuda' || s.startsWith('cuda:');
}

/** Wraps a native handle into a Tensor (registered with the current tidy scope). */
export function wrap(handle: NativeHandle): Tensor {
  return new Tensor(handle);
}

/**
 * The native handle of a Tensor where a tensor is required. Anything else goes to the native side
 * wrapped, so that it is rejected by name (a bare number could look like a handle); null and
 * undefined pass as they are (optional tensors).
 */
export function h(x: unknown): unknown {
  if (x instanceof Tensor) return x.handle;
  return x === null || x === undefined ? x : { notTensor: x };
}

/** For tensor-or-number arguments: the handle of a Tensor, anything else as it is (a mask tells them apart). */
export function hs(x: unknown): unknown {
  return x instanceof Tensor ? x.handle : x;
}

export function hl(xs: unknown): unknown {
  return Array.isArray(xs) ? xs.map(h) : xs;
}
