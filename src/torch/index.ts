// The `torch` namespace of Lethe: libtorch tensors, autograd, optimizers and safetensors for
// TypeScript, following PyTorch's names (camelCased) and argument order.
import { Tensor } from './tensor.js';
import { tensorMethods } from './ops.gen.js';
import { reductionMethods } from './reductions.js';
import { native } from './native.js';

Object.assign(Tensor.prototype, tensorMethods, reductionMethods);

export { Tensor, type TypedData, type ToOptions, type BackwardOptions } from './tensor.js';
export type { DType, Device, NestedArray } from './types.js';
export { DTYPES, DTYPE_SIZE, isFloatingDtype } from './types.js';
export * from './ops.gen.js';
export { max, min } from './reductions.js';
export { tensor, scalarTensor, type CreationOptions } from './creation.js';
export { tidy, keep, dispose, liveTensors, memory } from './memory.js';
export { noGrad, enableGrad, isGradEnabled, grad, variableGrads, type GradOptions } from './autograd.js';
export {
  loadSafetensors,
  saveSafetensors,
  readSafetensorsHeader,
  type SafetensorsHeader,
  type SafetensorsEntry,
  type LoadOptions,
} from './safetensors.js';
export * as optim from './optim/index.js';
export * as cuda from './cuda.js';
export * as distributed from './distributed.js';
export { clipGradNorm } from './optim/clip.js';

/** Seeds libtorch's CPU and CUDA generators (torch.manual_seed). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** Threads libtorch uses for intra-op parallelism. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface BuildInfo {
  torchVersion: string;
  torchMajor: number;
  torchMinor: number;
  libtorchDir: string;
  builtWithCuda: boolean;
  cxx11Abi: boolean;
  parallelInfo: string;
  config: string;
}

/** How the native addon was built and against which libtorch. */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}
