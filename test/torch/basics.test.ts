import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';

test('tensor() infers dtype and shape like PyTorch', () => {
  const a = torch.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(a.dtype, 'int64');
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(torch.tensor([1.5, 2]).dtype, 'float32');
  assert.equal(torch.tensor([true, false]).dtype, 'bool');
  assert.deepEqual(torch.tensor([true, false]).toArray(), [true, false]);
  assertClose(torch.tensor([0.1, 0.2], { dtype: 'float64' }).toArray(), [0.1, 0.2], { atol: 0, rtol: 0 });
});
