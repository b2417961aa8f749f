// tensor(data): JS data → a libtorch tensor, through one typed-array copy.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import type { DType, Device, NestedArray } from './types.js';

export interface CreationOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

type Source = NestedArray | Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0]!;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: number[], dim = 0, path = 'data'): void {
  if (dim === shape.length) {
    if (typeof data === 'number') out.push(data);
    else if (typeof data === 'boolean') out.push(data ? 1 : 0);
    else throw new TypeError(`tensor: ${path} must be a number or boolean, got ${Array.isArray(data) ? 'an array' : typeof data}`);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[dim]) {
    throw new TypeError(`tensor: ${path} must be an array of length ${shape[dim]} (a ragged nested array cannot be a tensor)`);
  }
  for (let k = 0; k < data.length; k++) flatten(data[k]!, shape, out, dim + 1, `${path}[${k}]`);
}

function firstLeaf(data: NestedArray): unknown {
  let v: NestedArray = data;
  while (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    v = v[0]!;
  }
  return v;
}

/**
 * Makes a tensor from nested arrays or a typed array (`shape` gives a typed array its shape).
 * Without a dtype: booleans give bool, integers int64 and anything else float32, as PyTorch does.
 */
export function tensor(data: Source, options: CreationOptions & { shape?: number[] } = {}): Tensor {
  let buffer: ArrayBufferView;
  let srcDtype: DType;
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    buffer = data;
    shape = options.shape ?? [data.length];
    srcDtype =
      data instanceof Float32Array
        ? 'float32'
        : data instanceof Float64Array
          ? 'float64'
          : data instanceof Int32Array
            ? 'int32'
            : data instanceof Int16Array
              ? 'int16'
              : data instanceof Int8Array
                ? 'int8'
                : data instanceof BigInt64Array
                  ? 'int64'
                  : 'uint8';
  } else {
    shape = inferShape(data);
    const flat: number[] = [];
    flatten(data, shape, flat);
    const leaf = firstLeaf(data);
    const isBool = typeof leaf === 'boolean';
    const allInts = !isBool && flat.every(Number.isInteger);
    const want = options.dtype ?? (isBool ? 'bool' : allInts && flat.length > 0 ? 'int64' : 'float32');
    if (want === 'float64' || want === 'int64') {
      buffer = new Float64Array(flat);
      srcDtype = 'float64';
    } else if (want === 'bool' || want === 'uint8') {
      buffer = Uint8Array.from(flat);
      srcDtype = 'uint8';
    } else {
      buffer = Float64Array.from(flat);
      srcDtype = 'float64';
    }
    if (options.shape) shape = options.shape;
    return new Tensor(native.fromData(buffer, srcDtype, shape, want, options.device ?? null, options.requiresGrad ?? false));
  }
  return new Tensor(native.fromData(buffer, srcDtype, shape, options.dtype ?? null, options.device ?? null, options.requiresGrad ?? false));
}

/** A 0-dim tensor. */
export function scalarTensor(value: number | boolean, options: CreationOptions = {}): Tensor {
  return tensor(value, options);
}
