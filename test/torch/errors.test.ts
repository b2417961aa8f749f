// Bad input is a JS Error naming the op, the argument and what was expected; never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';

test('a wrong-shape matmul names both shapes', () => {
  const a = torch.randn([2, 3]);
  const b = torch.randn([4, 5]);
  assert.throws(
    () => torch.matmul(a, b),
    (err: Error) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^matmul\(/);
      assert.match(err.message, /Tensor\[2, 3\] float32/);
      assert.match(err.message, /Tensor\[4, 5\] float32/);
      assert.match(err.message, /2x3 and 4x5/);
      return true;
    },
  );
});

test('libtorch errors carry the op, the shapes and dtypes, without a C++ backtrace', () => {
  assert.throws(
    () => torch.add(torch.zeros([2, 3]), torch.zeros([4])),
    (err: Error) =>
      /^add\(Tensor\[2, 3\] float32, Tensor\[4\] float32, 1\): The size of tensor a \(3\) must match/.test(err.message) &&
      !/frame #/.test(err.message),
  );
  assert.throws(() => torch.reshape(torch.zeros([6]), [4]), /reshape\(Tensor\[6\] float32, \[4\]\).*shape '\[4\]' is invalid/);
  assert.throws(
    () => torch.cat([torch.zeros([2, 2]), torch.zeros([3, 3])], 0),
    /cat\(\[Tensor\[2, 2\] float32, Tensor\[3, 3\] float32\], 0\)/,
  );
  assert.throws(() => torch.crossEntropy(torch.zeros([2, 3]), torch.tensor([0, 5])), /crossEntropy.*out of bounds|Target 5/);
  assert.throws(() => torch.embedding(torch.tensor([3]), torch.zeros([2, 2])), /embedding.*index out of range/);
  assert.throws(() => torch.bmm(torch.zeros([2, 2]), torch.zeros([2, 2])), /bmm.*3D|batch1 must be a 3D/);
  assert.throws(() => torch.zeros([2], { requiresGrad: true, dtype: 'int64' }), /floating point|requires_grad/);
});

test('argument type errors name the argument, the expectation and the value', () => {
  assert.throws(
    () => torch.add([1, 2] as never, 1),
    (err: Error) => err instanceof TypeError && /add: argument 1 \('input'\) must be a Tensor, got \[1, 2\]/.test(err.message),
  );
  assert.throws(() => torch.sum(torch.ones([2]), 'x' as never), /sum: argument 2 \('dim'\) must be an array of integers, got 'x'/);
  assert.throws(() => torch.zeros([2.5]), /zeros: argument 1 \('size'\) must be an array of integers/);
  assert.throws(() => torch.narrow(torch.ones([3]), 0, 1.5, 1), /narrow: argument 3 \('start'\) must be an integer, got 1.5/);
  assert.throws(() => torch.zeros([2], { dtype: 'float8' as never }), /unknown dtype 'float8'/);
  assert.throws(() => torch.zeros([2], { device: 'tpu' as never }), /unknown device 'tpu'/);
  assert.throws(
    () => torch.crossEntropy(torch.zeros([1, 2]), torch.tensor([0]), { reduction: 'avg' as never }),
    /reduction must be 'none', 'mean' or 'sum', got 'avg'/,
  );
  assert.throws(() => torch.cat('nope' as never), /cat: argument 1 \('tensors'\) must be an array of Tensors/);
  assert.throws(() => torch.ones([2]).item(), /item\(\) needs a tensor with one element/);
});

test('backward without a gradient needs a scalar', () => {
  const x = torch.ones([3], { requiresGrad: true });
  assert.throws(() => x.mul(2).backward(), /backward.*scalar output/);
  assert.throws(() => torch.ones([2]).sum().backward(), /does not require grad|element 0/);
});
