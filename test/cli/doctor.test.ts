import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers.js';

const cli = join(repoRoot, 'dist/src/cli/main.js');

test('lethe doctor --json reports libtorch, BLAS, threads and CUDA', () => {
  const r = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8' });
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
  const r = spawnSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^libtorch\s+\d/m);
  assert.match(r.stdout, /^BLAS\s+/m);
  assert.match(r.stdout, /^CUDA\s+/m);
  const bad = spawnSync(process.execPath, [cli, 'no-such-command'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown command/);
});

test('lethe demo --engine-only trains a small model whose loss falls', () => {
  const r = spawnSync(process.execPath, [cli, 'demo', '--engine-only'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /fell more than 10x/);
});
