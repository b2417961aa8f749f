// A lineage for erasure tests, on a run-fixtures folder: the target (trained on a corpus holding the
// forget rows) and what was made from it — a LoRA fine-tune and a quantized copy (inherit), a student
// distilled on retain text only (unaffected) and a LoRA of that student (unaffected), a student
// distilled on the corpus (its own data holds the records), and students whose distillation data went
// missing or changed after registration (cannot be checked). Folders are copies with a marker file:
// what the lineage decides depends on the records, not on the weights.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { registerModel, type RegisterInput } from '../../src/workflow/lineage.js';
import type { LineageScope, LineageStatus } from '../../src/workflow/lineage-scope.js';
import type { Workflow } from '../../src/workflow/index.js';
import { runner } from './fixtures.js';
import type { RunSetup } from './run-fixtures.js';

export const TARGET = 'tiny-assistant';

/** corpus.jsonl (forget + retain rows: what the target was trained on) beside the setup's files. */
export function corpusFile(s: RunSetup): string {
  const corpus = join(s.dir, 'corpus.jsonl');
  writeFileSync(corpus, readFileSync(s.forgetFile, 'utf8') + readFileSync(s.retainFile, 'utf8'));
  return corpus;
}

/** A copy of the target folder with a marker file (a distinct fingerprint). */
export function copyModel(s: RunSetup, name: string): string {
  const dir = join(s.dir, 'models', name);
  cpSync(s.model, dir, { recursive: true });
  writeFileSync(join(dir, 'made.json'), JSON.stringify({ name }));
  return dir;
}

/** What each model of lineageOnTarget() must be after an erasure on the target. */
export const EXPECTED: Record<string, LineageStatus> = {
  [TARGET]: 'released',
  'assistant-lora': 'needs-own-request',
  'assistant-int8': 'needs-own-request',
  'student-clean': 'unaffected',
  'student-clean-lora': 'unaffected',
  'student-leaky': 'needs-own-request',
  'student-missing': 'needs-own-request',
  'student-changed': 'needs-own-request',
};

/** Registers the target and its descendants (through the library; the CLI test registers through `lethe`). */
export async function lineageOnTarget(w: Workflow, s: RunSetup): Promise<void> {
  const corpus = corpusFile(s);
  const reg = (name: string, how: RegisterInput['how'], parents: string[], data: string[], dir = copyModel(s, name)) =>
    registerModel(w, runner, { name, modelDir: dir, how, parents, data: data.map((path) => ({ path })) });
  await reg(TARGET, 'base', [], [corpus], s.model);
  await reg('assistant-lora', 'lora', [TARGET], [s.retainFile]);
  await reg('assistant-int8', 'quantization', [TARGET], []);
  await reg('student-clean', 'distillation', [TARGET], [s.retainFile]);
  await reg('student-clean-lora', 'lora', ['student-clean'], [s.retainFile]);
  await reg('student-leaky', 'distillation', [TARGET], [corpus]);
  for (const name of ['student-missing', 'student-changed']) {
    const data = join(s.dir, `${name}.jsonl`);
    writeFileSync(data, readFileSync(s.retainFile));
    await reg(name, 'distillation', [TARGET], [data]);
  }
  rmSync(join(s.dir, 'student-missing.jsonl'));
  writeFileSync(join(s.dir, 'student-changed.jsonl'), readFileSync(s.holdoutFile));
}

/** The statuses (and the reasons that matter) a release reported for lineageOnTarget()'s models. */
export function assertLineageStatuses(scope: LineageScope | undefined): void {
  assert.ok(scope, 'the release reports the lineage');
  assert.equal(scope.model, TARGET);
  const by = Object.fromEntries(scope.models.map((m) => [m.name, m]));
  assert.deepEqual(Object.fromEntries(scope.models.map((m) => [m.name, m.status])), EXPECTED);
  assert.equal(scope.models[0]!.name, TARGET, 'the released model comes first');
  assert.match(by['assistant-lora']!.reasons.join(), /made from tiny-assistant by lora: inherits/);
  assert.match(by['assistant-int8']!.reasons.join(), /made from tiny-assistant by quantization: inherits/);
  assert.deepEqual(
    by['student-clean']!.data.map((d) => d.finding),
    ['clean'],
  );
  assert.match(by['student-clean']!.reasons.join(), /made by distillation: it inherits only through its data/);
  assert.match(by['student-clean-lora']!.reasons.join(), /its parents \(student-clean\) are unaffected/);
  assert.deepEqual(
    by['student-leaky']!.data.map((d) => d.finding),
    ['subject'],
  );
  assert.match(by['student-leaky']!.reasons.join(), /holds records of the forget set/);
  assert.match(by['student-missing']!.reasons.join(), /is missing: it cannot be checked/);
  assert.match(by['student-changed']!.reasons.join(), /has changed since it was registered/);
}
