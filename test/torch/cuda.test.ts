// CUDA: runs where libtorch has a CUDA device (the GPU machine); skipped, visibly, elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';

const skip = torch.cuda.isAvailable()
  ? false
  : `no CUDA device (libtorch ${torch.buildInfo().torchVersion}, CUDA build: ${torch.buildInfo().builtWithCuda})`;

test('cuda: with a device, the count is real: the last device takes tensors, the one past it is refused', { skip }, () => {
  const n = torch.cuda.deviceCount();
  assert.ok(Number.isInteger(n) && n >= 1, `deviceCount() = ${n}`);
  const x = torch.ones([2]).to(`cuda:${n - 1}` as torch.Device);
  assert.equal(x.device, `cuda:${n - 1}`);
  assert.throws(() => torch.ones([2]).to(`cuda:${n}` as torch.Device));
  torch.cuda.synchronize();
});

test('cuda: without a device, the count is 0 and moving a tensor there is an Error naming the op', {
  skip: skip ? false : 'a CUDA device is present',
}, () => {
  assert.equal(torch.cuda.deviceCount(), 0);
  torch.cuda.synchronize(); // a no-op, not a crash
  assert.throws(
    () => torch.ones([2]).to('cuda'),
    (err: Error) => err instanceof Error && /^to\(.*cuda/i.test(err.message),
  );
});

test('cuda: tensors move to the device and back', { skip }, () => {
  const x = torch.tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'float32' },
  );
  const g = x.to('cuda');
  assert.equal(g.device, 'cuda:0');
  assert.deepEqual(g.cpu().toArray(), [
    [1, 2],
    [3, 4],
  ]);
  assert.equal(torch.zeros([2], { device: 'cuda:0' }).device, 'cuda:0');
});

test('cuda: bf16 matmul agrees with fp32 on the CPU', { skip }, () => {
  torch.manualSeed(0);
  const a = torch.randn([64, 64]);
  const b = torch.randn([64, 64]);
  const expected = torch.matmul(a, b);
  const got = torch.matmul(a.to({ device: 'cuda', dtype: 'bfloat16' }), b.to({ device: 'cuda', dtype: 'bfloat16' }));
  assert.equal(got.dtype, 'bfloat16');
  const err = got.float().cpu().sub(expected).abs().max().item();
  assert.ok(err < 1.0, `bf16 max abs error ${err}`);
});

test('cuda: backward on the device matches the CPU', { skip }, () => {
  const w = torch.tensor(
    [
      [0.5, -1],
      [2, 0.25],
    ],
    { dtype: 'float32' },
  );
  const x = torch.tensor([[1, 2]], { dtype: 'float32' });
  const grads = ['cpu', 'cuda'].map((device) => {
    const p = w.to({ device: device as torch.Device, copy: true }).requiresGrad_();
    torch
      .gelu(torch.linear(x.to(device as torch.Device), p))
      .sum()
      .backward();
    return p.grad!.cpu().toArray();
  });
  assertClose(grads[1], grads[0], { atol: 1e-5, what: 'cuda grad' });
});
