// Ctrl-C during `lethe forget`: the step finishes, a checkpoint is written, the exact --resume command
// is printed; a rerun without --resume says the folder holds an interrupted run; the resumed run logs
// each step once and ends with the same weights as a run never interrupted; --resume on the
// finished folder says it is finished instead of training again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, npoArgs, interruptAt } from '../helpers/cli.js';
import { sha256File } from '../../src/util/hash.js';

const dir = tempDir('lethe-interrupt-');
const model = tinyModel(dir);
const forgetFile = writeJsonl(
  join(dir, 'forget.jsonl'),
  PEOPLE.map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
);
const args = (out: string) => npoArgs(model, forgetFile, '--no-retain', '--steps', '60', '--batch-size', '2', '--out', out);

/** The steps a run's train_log.jsonl records, in order. */
function loggedSteps(out: string): number[] {
  return readFileSync(join(out, 'train_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { step?: number }).step)
    .filter((x): x is number => x !== undefined);
}

/** The resumed run logged each of its 60 steps once and ended with the weights of `straight`. */
function assertResumedExactly(out: string, straight: string, what: string): void {
  const steps = loggedSteps(out);
  assert.deepEqual(steps, [...new Set(steps)], 'each step logged once');
  assert.equal(steps.at(-1), 60);
  assert.equal(sha256File(join(out, 'model.safetensors')), sha256File(join(straight, 'model.safetensors')), what);
}

test('Ctrl-C: checkpoint and resume command; rerun refused with the reason; resume exact; finished is finished', async () => {
  const straight = join(dir, 'straight');
  const s = runCli(args(straight));
  assert.equal(s.status, 0, s.stderr);

  const out = join(dir, 'interrupted');
  const r = await interruptAt(args(out), /step (1[0-9]|2[0-9])\/60/);
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted at step \d+ of 60; the checkpoint is in .*interrupted\/checkpoint/);
  const resume = /continue it with:\n {2}(lethe forget .* --resume)\n/.exec(r.stderr);
  assert.ok(resume, r.stderr);
  assert.ok(resume[1]!.includes(`--out ${out}`), resume[1]);
  assert.ok(existsSync(join(out, 'checkpoint', 'trainer_state.json')));

  const other = runCli([...args(out).map((a) => (a === '60' ? '80' : a)), '--set', 'beta=0.2', '--resume']);
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /belongs to another job .*differs in: .*args\.beta 0\.15 → 0\.2.*totalSteps 60 → 80/);
  const again = runCli(args(out));
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /holds an interrupted run \(a checkpoint\): add --resume to continue it/);

  const resumed = runCli([...args(out), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from step \d+/);
  assertResumedExactly(out, straight, 'resumed = never interrupted, bit for bit');

  const finished = runCli([...args(out), '--resume']);
  assert.notEqual(finished.status, 0);
  assert.match(finished.stderr, /holds a finished run of 60 steps: there is nothing to resume/);
});

test('a run killed outright resumes from its last periodic checkpoint and logs each step once', async () => {
  const out = join(dir, 'killed');
  // 60 steps: a checkpoint every 15, a log line every 3; killed past step 24, the log runs ahead of the checkpoint.
  const r = await interruptAt(args(out), /step (2[4-9]|3[0-9]|4[0-4])\/60/, 'SIGKILL');
  assert.equal(r.code, null);
  const resumed = runCli([...args(out), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from step (15|30)/);
  const steps = loggedSteps(out);
  assert.deepEqual(steps, [...new Set(steps)], `each step logged once: ${steps.join(',')}`);
  assert.equal(steps.at(-1), 60);
});

test('Ctrl-C on a data-parallel run: every rank stops after the same step, one message, exit 130; the resume equals a run never interrupted', async () => {
  const dp = (out: string) => npoArgs(model, forgetFile, '--no-retain', '--steps', '60', '--batch-size', '4', '--nproc', '2', '--out', out);
  const straight = join(dir, 'dp-straight');
  const s = runCli(dp(straight));
  assert.equal(s.status, 0, s.stderr);
  const out = join(dir, 'dp-interrupted');
  const r = await interruptAt(dp(out), /step (1[0-9]|2[0-9])\/60/);
  assert.equal(r.code, 130, r.stderr);
  assert.equal(r.stderr.match(/interrupted at step \d+ of 60/g)?.length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /stopping the others|was killed/);
  assert.ok(existsSync(join(out, 'checkpoint', 'trainer_state.json')));
  const resumed = runCli([...dp(out), '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assertResumedExactly(out, straight, '2 processes: resumed = never interrupted, bit for bit');
});
