// What a new user sees for the usual mistakes: each message names the flag or file and says what was
// expected in the user's terms, never libtorch's or V8's internals (issue "A new user's first hour").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, npoArgs } from '../helpers/cli.js';
import { torch } from '../../src/index.js';

const dir = tempDir('lethe-messages-');
const model = tinyModel(dir);
const rows = PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` }));
const forgetFile = writeJsonl(join(dir, 'forget.jsonl'), rows);
let outs = 0;
const out = () => join(dir, `out-${outs++}`);
const forget = (...args: string[]) => runCli(npoArgs(model, forgetFile, '--out', out(), ...args));

/** Fails with exit code ≠ 0 and one of the lines of stderr matching `pattern`; no stack trace. */
function refused(r: ReturnType<typeof runCli>, pattern: RegExp): void {
  assert.notEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('bad flag values name the flag and what was expected', () => {
  refused(forget('--seed', 'abc'), /forget: '--seed' must be a non-negative integer, got 'abc'/);
  refused(forget('--device', 'gpu'), /forget: '--device' must be cpu, cuda or cuda:N, got 'gpu'/);
  refused(
    runCli(['eval', '--model', model, '--forget', forgetFile, '--out', out(), '--batch-size', '3x']),
    /eval: '--batch-size' must be a positive integer, got '3x'/,
  );
});

test('--device cuda on a machine without CUDA says so before any weight moves', {
  skip: torch.cuda.isAvailable() && 'this machine has CUDA',
}, () => {
  refused(forget('--device', 'cuda', '--no-retain'), /device 'cuda': this libtorch has no CUDA .*use --device cpu/);
  assert.throws(() => torch.cuda.checkDevice('cuda:1'), /device 'cuda:1': this libtorch has no CUDA/);
  assert.doesNotThrow(() => torch.cuda.checkDevice('cpu'));
});

test('--out naming a file, --forget naming a folder, a JSON array file and a non-string answer', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  refused(runCli(npoArgs(model, forgetFile, '--no-retain', '--out', file)), /--out .*a-file is a file, not a folder/);
  const folder = join(dir, 'a-folder');
  mkdirSync(folder, { recursive: true });
  refused(runCli(npoArgs(model, folder, '--out', out())), /forget file: .*a-folder is a folder, not a file; give a JSONL file/);
  const array = join(dir, 'rows.json');
  writeFileSync(array, JSON.stringify(rows, null, 2));
  refused(runCli(npoArgs(model, array, '--out', out())), /rows\.json is one JSON array; expected JSONL, one JSON object per line/);
  const five = writeJsonl(join(dir, 'five.jsonl'), [{ question: 'Who?', answer: 5 }]);
  refused(runCli(npoArgs(model, five, '--out', out())), /five\.jsonl:1: field 'answer': expected a string, got a number/);
});

test('a byte-order mark is ignored and the method name is case-insensitive', () => {
  const bom = join(dir, 'bom.jsonl');
  writeFileSync(bom, '\uFEFF' + rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const r = runCli(['forget', '--model', model, '--forget', bom, '--method', 'npo', '--no-retain', '--steps', '1', '--out', out()]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /NPO: 1 steps/);
});

test('a config with many mistakes lists each one on its own line', () => {
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      beta: 'abc',
      alpha: -1,
      ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`unknown_${i}`, 'x'.repeat(40)])),
    }),
  );
  const r = forget('--config', config);
  refused(r, /forget: 3 problems with the arguments of NPO:/);
  const lines = r.stderr.trim().split('\n');
  assert.ok(
    lines.some((l) => /^ {2}method NPO has no argument 'unknown_0', .* \(and 55 more\) \(it takes /.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => /^ {2}'beta' must be a number, got 'abc'$/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.some((l) => /^ {2}'alpha' of method NPO .*>=0, got -1$/.test(l)),
    r.stderr,
  );
  assert.ok(
    lines.every((l) => l.length < 300),
    'no line is a wall of text',
  );
});

test('a tokenizer without tokenizer_config.json: a warning that there is no EOS token and how to set it', () => {
  const bare = join(dir, 'bare-model');
  cpSync(model, bare, { recursive: true });
  rmSync(join(bare, 'tokenizer_config.json'), { force: true });
  const r = runCli(npoArgs(bare, forgetFile, '--no-retain', '--steps', '1', '--out', out()));
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: the tokenizer in .*bare-model has no EOS token .*Add "eos_token": "<its end token>" to .*tokenizer_config\.json/,
  );
  const withEos = runCli(npoArgs(model, forgetFile, '--no-retain', '--steps', '1', '--out', out()));
  assert.doesNotMatch(withEos.stderr, /no EOS token/);
});
