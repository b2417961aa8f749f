// Lethe: LLM unlearning on libtorch. The engine is exported as `torch`.
export * as torch from './torch/index.js';
export { Tensor } from './torch/tensor.js';
export * from './models/index.js';
export { evaluate, type EvaluateOptions, type EvaluateResult } from './eval/evaluate.js';
export { readEvalJson, writeResults, type EvalJson, type EvalEntry, type EvalMeta } from './eval/eval-file.js';
export {
  defineMetric,
  getMetric,
  listMetrics,
  type MetricDefinition,
  type MetricResult,
  type MetricContext,
  type Need,
  type EvalItemSet,
} from './eval/metrics/index.js';
export { quantizeModel, type QuantizeMode } from './eval/quantize.js';
