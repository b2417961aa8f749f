export { forget, type ForgetOptions, type ForgetResult, type UnlearningRecord } from './forget.js';
export { getMethod, listMethods, describeMethods, resolveArgs, methodDefaults, defineMethod } from './registry.js';
export type { MethodDefinition, StepBatch, StepContext, Encoded, MethodNeeds } from './method.js';
export { parseMask, type MaskSpec } from './mask.js';
export { IDK_ANSWERS } from './idk.js';
