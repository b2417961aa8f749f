// The README's quickstart, run as written (on a tiny fixture model and examples/), so the README cannot
// drift from the CLI: every command exits 0 and leaves what it says; the example policy parses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { repoRoot } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readPolicyFile } from '../../src/workflow/policy.js';

const dir = tempDir('lethe-quickstart-');

/** The commands between the README's quickstart markers, one per line, without `npx lethe`. */
function quickstart(): string[][] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- quickstart[^>]*-->\n```sh\n([\s\S]*?)```\n<!-- \/quickstart -->/.exec(readme);
  assert.ok(block, 'the README has a quickstart block');
  return block[1]!
    .split('\n')
    .filter((l) => l.startsWith('npx lethe '))
    .map((l) => l.slice('npx lethe '.length).split(/\s+/));
}

test("the README's quickstart runs as written on a tiny model and examples/", () => {
  const commands = quickstart();
  assert.ok(commands.length >= 6, `${commands.length} commands`);
  const model = tinyModel(dir);
  // Paths as the README writes them, resolved here: ./X → DIR/X, examples/ → the repository's.
  const place = (arg: string) =>
    arg === './my-model' ? model : arg.startsWith('./') ? join(dir, arg.slice(2)) : arg.startsWith('examples/') ? join(repoRoot, arg) : arg;
  for (const args of commands) {
    const r = runCli(args.map(place));
    assert.equal(r.status, 0, `lethe ${args.join(' ')}\n${r.stderr}`);
  }
  for (const made of [
    'my-model-unlearned/model.safetensors',
    'my-model-unlearned/unlearning.json',
    'eval-unlearned/EVAL.json',
    'eval-original/EVAL.json',
    'report.html',
  ])
    assert.ok(existsSync(join(dir, made)), made);
  assert.ok(readPolicyFile(join(repoRoot, 'examples', 'policy.json')).checks.length > 0);
});
