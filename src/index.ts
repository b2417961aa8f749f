// Lethe: LLM unlearning on libtorch. The engine is exported as `torch`.
export * as torch from './torch/index.js';
export { Tensor } from './torch/tensor.js';
export * from './models/index.js';
