export { Optimizer, type ParamGroup, type OptimizerStateDict } from './optimizer.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { SGD, type SGDOptions } from './sgd.js';
export { LRScheduler, linearWarmupDecay, cosineWarmup, constantWarmup } from './schedule.js';
export { clipGradNorm } from './clip.js';
