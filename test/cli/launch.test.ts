import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeNproc } from '../../src/cli/launch.js';
import { freePort } from '../../src/util/net.js';

test('--nproc is taken out of the command line in both spellings; bad values are named', async () => {
  assert.deepEqual(takeNproc(['node', 'lethe', 'finetune', '--nproc', '2', '--out', 'x']), {
    argv: ['node', 'lethe', 'finetune', '--out', 'x'],
    nproc: 2,
  });
  assert.deepEqual(takeNproc(['node', 'lethe', 'forget', '--nproc=4']), { argv: ['node', 'lethe', 'forget'], nproc: 4 });
  assert.deepEqual(takeNproc(['node', 'lethe', 'forget']), { argv: ['node', 'lethe', 'forget'], nproc: null });
  assert.throws(() => takeNproc(['node', 'lethe', 'forget', '--nproc', 'two']), /'--nproc' must be a positive integer, got 'two'/);
  assert.throws(() => takeNproc(['node', 'lethe', 'forget', '--nproc']), /'--nproc' must be a positive integer, got ''/);
  assert.throws(() => takeNproc(['node', 'lethe', 'forget', '--nproc=0']), /got '0'/);
  const port = await freePort();
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536);
});
