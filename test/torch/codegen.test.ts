// The op table is the single source of the C++ and TypeScript op code: the committed output
// must be what the generator makes from it now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.js';

test('native/src/ops.gen.cc and src/torch/ops.gen.ts are up to date with native/ops.table.mjs', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'native/generate.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
