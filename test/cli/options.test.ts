// The flag parsers every command uses (src/cli/options.ts): good values pass through, a bad value is
// refused with a message naming the command, the flag and what was expected — in the parser, through
// commander, and on the real command line (before anything loads a model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { repoRoot } from '../helpers/fixtures.js';
import {
  commandPath,
  device,
  int,
  keyValue,
  list,
  number,
  promptFormat,
  trainingFlags,
  trainingOptions,
  type TrainingFlags,
} from '../../src/cli/options.js';
import { LetheError } from '../../src/util/errors.js';

/** Asserts that `fn` throws a BAD_INPUT LetheError with exactly this message. */
function refuses(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LetheError, `expected a LetheError, got ${String(e)}`);
    assert.equal(e.code, 'BAD_INPUT');
    assert.equal(e.message, message);
    return true;
  });
}

test('int: counts from 1, or from 0, or in a range; anything else is named', () => {
  const epochs = int('forget', '--epochs');
  assert.equal(epochs('3', 0), 3);
  assert.equal(epochs(' 12 ', 0), 12);
  for (const bad of ['0', '-2', '1.5', 'two', '', ' ', 'NaN', 'Infinity'])
    refuses(() => epochs(bad, 0), `forget: '--epochs' must be a positive integer, got '${bad}'`);
  const seed = int('train', '--seed', { min: 0 });
  assert.equal(seed('0', 0), 0);
  assert.equal(seed('42', 0), 42);
  refuses(() => seed('-1', 0), "train: '--seed' must be a non-negative integer, got '-1'");
  refuses(() => seed('', 0), "train: '--seed' must be a non-negative integer, got ''");
  const port = int('serve', '--port', { min: 0, max: 65535 });
  assert.equal(port('0', 0), 0);
  assert.equal(port('65535', 0), 65535);
  refuses(() => port('65536', 0), "serve: '--port' must be an integer from 0 to 65535, got '65536'");
});

test('number: positive, or non-negative with orZero; finite only', () => {
  const lr = number('forget', '--lr');
  assert.equal(lr('1e-3', 0), 1e-3);
  assert.equal(lr('0.5', 0), 0.5);
  for (const bad of ['0', '-1e-3', 'fast', '', 'Infinity'])
    refuses(() => lr(bad, 0), `forget: '--lr' must be a positive number, got '${bad}'`);
  const wait = number('table', '--wait-retain', { orZero: true });
  assert.equal(wait('0', 0), 0);
  assert.equal(wait('2.5', 0), 2.5);
  refuses(() => wait('-1', 0), "table: '--wait-retain' must be a non-negative number, got '-1'");
});

test('device: cpu, cuda or cuda:N; gpu and other spellings are refused', () => {
  const d = device('finetune');
  for (const ok of ['cpu', 'cuda', 'cuda:0', 'cuda:7']) assert.equal(d(ok, 'cpu'), ok);
  for (const bad of ['gpu', 'GPU', 'cuda:', 'cuda:x', 'cuda:-1', 'mps', 'CPU', ''])
    refuses(() => d(bad, 'cpu'), `finetune: '--device' must be cpu, cuda or cuda:N, got '${bad}'`);
});

test('list and --set key=value', () => {
  assert.deepEqual(list('a, b,,c '), ['a', 'b', 'c']);
  assert.deepEqual(list(''), []);
  const set = keyValue('forget');
  assert.deepEqual(set('beta=0.2', {}), { beta: '0.2' });
  assert.deepEqual(set('template=a=b', { beta: '0.2' }), { beta: '0.2', template: 'a=b' });
  assert.deepEqual(set('beta=1', { beta: '0.2' }), { beta: '1' }, 'the last value of a key wins');
  refuses(() => set('beta', {}), "forget: '--set' must be key=value, got 'beta'");
  refuses(() => set('=1', {}), "forget: '--set' must be key=value, got '=1'");
});

/** A program with one training command, as the CLI registers it; parse() returns its flags. */
function trainingProgram(names?: Parameters<typeof trainingFlags>[1]) {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  let got: TrainingFlags | null = null;
  const sisa = program.command('sisa');
  trainingFlags(sisa.command('train'), names).action((o: TrainingFlags) => void (got = o));
  return (args: string[]) => {
    program.parse(['node', 'lethe', 'sisa', 'train', ...args]);
    return got!;
  };
}

test('trainingFlags: registered once, checked with the command named; defaults seed 0 and cpu', () => {
  const parse = trainingProgram();
  const o = parse([
    '--out',
    'x',
    '--epochs',
    '2',
    '--lr',
    '1e-4',
    '--batch-size',
    '8',
    '--device',
    'cuda:1',
    '--lora',
    'r=4,targets=q_proj',
    '--max-length',
    '64',
  ]);
  assert.deepEqual(
    { epochs: o.epochs, lr: o.lr, batchSize: o.batchSize, seed: o.seed, device: o.device, maxLength: o.maxLength },
    { epochs: 2, lr: 1e-4, batchSize: 8, seed: 0, device: 'cuda:1', maxLength: 64 },
  );
  assert.deepEqual(o.lora, { r: 4, loraAlpha: 16, loraDropout: 0, targetModules: ['q_proj'] });
  assert.equal(trainingProgram()(['--out', 'x']).device, 'cpu');
  refuses(() => trainingProgram()(['--out', 'x', '--device', 'gpu']), "sisa train: '--device' must be cpu, cuda or cuda:N, got 'gpu'");
  refuses(() => trainingProgram()(['--out', 'x', '--seed', '1.5']), "sisa train: '--seed' must be a non-negative integer, got '1.5'");
  refuses(() => trainingProgram()(['--out', 'x', '--steps', 'ten']), "sisa train: '--steps' must be a positive integer, got 'ten'");
  refuses(() => trainingProgram()(['--out', 'x', '--lora', 'r=0']), "--lora: 'r' must be a positive integer, got '0'");
  // A command picks its flags: one it did not pick is unknown to it.
  assert.throws(() => trainingProgram(['out', 'epochs'])(['--out', 'x', '--lr', '1']), /unknown option '--lr'/);
  const top = new Command();
  assert.equal(commandPath(top.command('forget')), 'forget');
});

test('trainingOptions: the flags as the library options; the prompt template with \\n spelled out', () => {
  const flags: TrainingFlags = { out: 'x', seed: 3, device: 'cpu', steps: 5, promptTemplate: 'Q: {question}\\nA: {answer}' };
  const t = trainingOptions(flags);
  assert.equal(t.seed, 3);
  assert.equal(t.steps, 5);
  assert.deepEqual(t.format, { template: 'Q: {question}\nA: {answer}' });
  assert.deepEqual(promptFormat({ chatTemplate: true, promptTemplate: 'Q: {question} A: {answer}' }), { chat: true });
  assert.equal(promptFormat({}), undefined);
});

test('on the command line a bad value stops the command (exit 1) before it runs, for every command that takes the flag', () => {
  const cli = join(repoRoot, 'dist/src/cli/main.js');
  const lethe = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  const cases: [string[], string][] = [
    [
      ['forget', '--model', 'm', '--forget', 'f', '--method', 'NPO', '--out', 'o', '--device', 'gpu'],
      "lethe: forget: '--device' must be cpu, cuda or cuda:N, got 'gpu'",
    ],
    [
      ['finetune', '--model', 'm', '--data', 'd', '--out', 'o', '--device', 'gpu'],
      "lethe: finetune: '--device' must be cpu, cuda or cuda:N, got 'gpu'",
    ],
    [
      ['sisa', 'train', '--model', 'm', '--data', 'd', '--shards', '2', '--slices', '1', '--key', 'k', '--out', 'o', '--device', 'gpu'],
      "lethe: sisa train: '--device' must be cpu, cuda or cuda:N, got 'gpu'",
    ],
    [['sisa', 'forget', 'dir', '--out', 'o', '--device', 'gpu'], "lethe: sisa forget: '--device' must be cpu, cuda or cuda:N, got 'gpu'"],
    [['train', '--data', 'd', '--out', 'o', '--device', 'gpu'], "lethe: train: '--device' must be cpu, cuda or cuda:N, got 'gpu'"],
    [['eval', '--model', 'm', '--batch-size', '0'], "lethe: eval: '--batch-size' must be a positive integer, got '0'"],
    [['data', 'build', 'persona', '--out', 'o', '--seed', 'x'], "lethe: data build: '--seed' must be a non-negative integer, got 'x'"],
    [['serve', '--port', 'http'], "lethe: serve: '--port' must be an integer from 0 to 65535, got 'http'"],
    [['forget', '--nproc', 'two', '--model', 'm'], "lethe: forget: '--nproc' must be a positive integer, got 'two'"],
  ];
  for (const [args, message] of cases) {
    const r = lethe(...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), message);
  }
});
