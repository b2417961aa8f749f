// CUDA: runs where libtorch has a CUDA device (the GPU machine); skipped, visibly, elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const skip = torch.cuda.isAvailable() ? false : `no CUDA device (libtorch ${torch.buildInfo().torchVersion}, CUDA build: ${torch.buildInfo().builtWithCuda})`;

test('cuda: queries are consistent', () => {
  assert.equal(torch.cuda.isAvailable(), torch.cuda.deviceCount() > 0);
});

test('cuda: tensors move to the device and back', { skip }, () => {
  const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
  const g = x.to('cuda');
  assert.equal(g.device, 'cuda:0');
  assert.deepEqual(g.cpu().toArray(), [[1, 2], [3, 4]]);
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
  const w = torch.tensor([[0.5, -1], [2, 0.25]], { dtype: 'float32' });
  const x = torch.tensor([[1, 2]], { dtype: 'float32' });
  const grads = ['cpu', 'cuda'].map((device) => {
    const p = w.to({ device: device as torch.Device, copy: true }).requiresGrad_();
    torch.gelu(torch.linear(x.to(device as torch.Device), p)).sum().backward();
    return p.grad!.cpu().toArray();
  });
  assertClose(grads[1], grads[0], { atol: 1e-5, what: 'cuda grad' });
});
