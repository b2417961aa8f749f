// The demo's erasure request (src/workflow/experiments/demo-request.ts) on a tiny persona suite and the
// Llama fixture as the target: created, scoped by provenance, approved by a second person, released
// under a policy, with the certificate written, the audit verified and no byte of the person's details
// left in the deployment; a second run reprints the kept summary instead of running again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSuite } from '../../src/data/index.js';
import { runDemoRequest } from '../../src/workflow/experiments/demo-request.js';
import { filesUnder } from '../../src/workflow/subject-search.js';
import { requireFixture } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

test('the demo runs one person’s request end to end and leaves none of their details in the deployment', async () => {
  const out = tempDir('lethe-demo-request-');
  const dataDir = join(out, 'data');
  buildSuite('persona', join(dataDir, 'persona'), { seed: 5, size: 'tiny' }, 'test');
  const runDir = join(out, 'run');
  const target = join(runDir, 'target');
  mkdirSync(target, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(target, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(target, 'tokenizer.json'));
  const lines: string[] = [];
  const o = {
    out,
    runDir,
    dataDir,
    seed: 0,
    log: (l: string) => lines.push(l),
    // What the fixture can show in a few steps (the demo's own policy needs the trained tiny target).
    policyChecks: [
      { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.0 },
      { metric: 'exact_memorization', max_ratio_to_original: 1.0 },
      // Hidden-knowledge checks: the logit lens, and the original's linear probe read on the unlearned model.
      { metric: 'forget_logit_lens_Prob', max_ratio_to_original: 1.0 },
      { metric: 'forget_probe_Prob', between: [0, 1] },
    ],
    training: { steps: 3, lr: 1e-3, batchSize: 4 },
  };
  const s = await runDemoRequest(o);
  assert.equal(s.state, 'released', lines.join('\n'));
  assert.ok(s.proposed.forget >= 2 && s.proposed.probes >= 1, `the person's records are proposed: ${JSON.stringify(s.proposed)}`);
  assert.deepEqual(
    s.checks.map((c) => [c.metric, c.passed]),
    [
      ['forget_Q_A_Prob', true],
      ['exact_memorization', true],
      ['forget_logit_lens_Prob', true],
      ['forget_probe_Prob', true],
    ],
  );
  // The checks measured the person's probe questions (QA form), not text rows: a probability, not null.
  assert.ok(s.checks.every((c) => typeof c.value === 'number'));
  assert.ok(s.certificate && existsSync(s.certificate), 'the certificate is written');
  assert.deepEqual(s.searched.fields, ['name', 'email', 'phone', 'phone_digits', 'address']);
  assert.equal(s.searched.hits, 0);
  assert.ok(s.searched.files >= 5 && s.searched.files === filesUnder(join(out, 'deployment')).length);
  assert.ok(s.auditOk && s.auditEntries >= 6, `audit: ${s.auditEntries} entries`);
  const person = JSON.parse(readFileSync(join(dataDir, 'persona', 'people.jsonl'), 'utf8').split('\n')[0]!) as { name: string };
  assert.ok(person.name.length > 3);
  const printed = lines.join('\n');
  assert.match(printed, /pass {2}forget_Q_A_Prob .* needs ≤ /);
  assert.match(printed, /\[search\] \d+ files of the deployment searched .*: 0 hits/);
  // The log names the person by their synthetic id only.
  const subject = readFileSync(join(dataDir, 'persona', 'people.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; name: string; email: string })
    .find((p) => p.id === s.personId)!;
  assert.ok(!printed.includes(subject.name) && !printed.includes(subject.email), 'the demo log names the person by id only');

  // Resumed: the kept summary is printed, nothing runs again.
  const again: string[] = [];
  const s2 = await runDemoRequest({ ...o, log: (l) => again.push(l) });
  assert.deepEqual(s2, s);
  assert.match(again.join('\n'), /done before/);
});
