import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

test('lethe doctor --json reports libtorch, BLAS, threads and CUDA', () => {
  const r = runCli(['doctor', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.node, process.version);
  assert.equal(report.addon.loaded, true);
  assert.match(report.libtorch.version, /^\d+\.\d+/);
  assert.ok(report.libtorch.dir.length > 0);
  assert.ok(report.threads.intraOp >= 1);
  assert.equal(typeof report.cuda.available, 'boolean');
  assert.ok(report.matmulGflops > 0);
  assert.equal(typeof report.blas.kind, 'string');
});

test('lethe doctor prints a readable report; unknown commands fail', () => {
  const r = runCli(['doctor']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^libtorch\s+\d/m);
  assert.match(r.stdout, /^BLAS\s+/m);
  assert.match(r.stdout, /^CUDA\s+/m);
  const bad = runCli(['no-such-command']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown command/);
});

test('lethe demo --engine-only trains a small model whose loss falls', () => {
  const r = runCli(['demo', '--engine-only']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /fell more than 10x/);
});
