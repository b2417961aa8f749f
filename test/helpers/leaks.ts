// Tensor-leak checks: whatever a piece of code loads or makes, it frees again.
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

/** Runs `fn` (sync or async) and asserts it left no more tensors alive than there were before. */
export function withoutLeaks<T>(fn: () => T, what = 'live tensors after the test'): T {
  const before = torch.liveTensors();
  const check = () => assert.equal(torch.liveTensors(), before, what);
  const result = fn();
  if (result instanceof Promise)
    return result.then((value) => {
      check();
      return value;
    }) as T;
  check();
  return result;
}
