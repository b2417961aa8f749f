// Release: the policy language (parsing errors that name the field; each check kind passing and
// failing on synthetic EVAL.json objects), and runRequest end to end on the llama-tiny fixture on both
// stores — a lenient policy releases (registry row, certificate, forget file deleted and audited), a
// strict one fails (no registry row) — with the subject's name found in no table, certificate or log.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  approveRequest,
  createRequest,
  getRequest,
  listModelVersions,
  parsePolicy,
  readPolicyFile,
  runRequest,
  scopeRequest,
  verifyAgainstPolicy,
  verifyAudit,
  auditEntries,
  type Policy,
  type ReleaseCertificate,
} from '../../src/workflow/index.js';
import type { EvalJson } from '../../src/eval/eval-file.js';
import { modelFingerprint } from '../../src/util/model-fingerprint.js';
import { recordMetaEvaluation } from '../../src/workflow/meta-evaluation.js';
import type { MetaJson } from '../../src/eval/meta.js';
import { closeStores, freshWorkflow, steppingClock, STORE_KINDS, storeOptions, type TestWorkflow } from './stores.js';
import { alice, bob, createBody, runner, SUBJECT } from './fixtures.js';
import { approved, forgetRows, setup, sha } from './run-fixtures.js';
import { withTempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';

after(closeStores);

const badInput = (field: string, re?: RegExp) => (e: Error & { code?: string }) => {
  assert.equal(e.code, 'BAD_INPUT', e.message);
  assert.ok(e.message.includes(`'${field}'`), `names ${field}: ${e.message}`);
  if (re) assert.match(e.message, re);
  return true;
};

describe('policy parsing', () => {
  test('a valid policy of every kind parses', () => {
    const p = parsePolicy({
      name: 'tofu-like',
      checks: [
        { metric: 'forget_Q_A_Prob', max_ratio_to: 'holdout_Q_A_Prob', ratio: 1.5 },
        { metric: 'mia_min_k', between: [0.4, 0.6] },
        { metric: 'model_utility', min_ratio_to_original: 0.95 },
        { metric: 'relearn_forget_Q_A_Prob', max: 0.2 },
        { metric: 'retain_Q_A_Prob', min: 0.1, max: 1 },
        { metric: 'a', min_ratio_to: 'b', ratio: 2 },
        { metric: 'c', max_ratio_to_original: 0.5 },
      ],
    });
    assert.equal(p.checks.length, 7);
  });
  test('errors name the field', () => {
    assert.throws(() => parsePolicy({}), badInput('checks', /an array/));
    assert.throws(() => parsePolicy({ checks: [] }), badInput('checks', /at least 1/));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', max: 1 }], extra: 1 }), badInput('extra', /unknown field/));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', max: 1, maximum: 2 }] }), badInput('checks.0.maximum', /unknown field/));
    assert.throws(() => parsePolicy({ checks: [{ max: 1 }] }), badInput('checks.0.metric'));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x' }] }), badInput('checks.0', /exactly one threshold kind.*found none/));
    assert.throws(
      () =>
        parsePolicy({
          checks: [
            { metric: 'x', max: 1 },
            { metric: 'y', max: 1, between: [0, 1] },
          ],
        }),
      badInput('checks.1', /found min\/max and between/),
    );
    assert.throws(
      () => parsePolicy({ checks: [{ metric: 'x', max_ratio_to: 'y' }] }),
      badInput('checks.0.ratio', /required with max_ratio_to/),
    );
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', max: 1, ratio: 2 }] }), badInput('checks.0.ratio', /absent unless/));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', between: [0.6, 0.4] }] }), badInput('checks.0.between', /low ≤ high/));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', between: [0.4] }] }), badInput('checks.0.between'));
    assert.throws(
      () => parsePolicy({ checks: [{ metric: 'x', min_ratio_to_original: -1 }] }),
      badInput('checks.0.min_ratio_to_original', /above 0/),
    );
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x', max: '0.2' }] }), badInput('checks.0.max', /a number/));
    assert.throws(() => parsePolicy({ checks: [{ metric: 'x y', max: 1 }] }), badInput('checks.0.metric', /metric name/));
  });
  test('a policy file that is not JSON or cannot be read is refused with its path', () => {
    withTempDir('lethe-policy-', (dir) => {
      writeFileSync(join(dir, 'bad.json'), '{checks:');
      assert.throws(() => readPolicyFile(join(dir, 'bad.json')), /policy: .*bad\.json is not JSON/);
      assert.throws(() => readPolicyFile(join(dir, 'none.json')), /policy: cannot read .*none\.json/);
      writeFileSync(join(dir, 'ok.json'), JSON.stringify({ checks: [{ metric: 'x', max: 1 }] }));
      assert.equal(readPolicyFile(join(dir, 'ok.json')).checks[0]!.max, 1);
    });
  });
});

const ev = (m: Record<string, number | null>): EvalJson =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { agg_value: v }])) as EvalJson;

describe('verifyAgainstPolicy', () => {
  const unlearned = ev({
    forget_Q_A_Prob: 0.3,
    holdout_Q_A_Prob: 0.25,
    mia_min_k: 0.55,
    model_utility: 0.48,
    relearn_forget_Q_A_Prob: 0.1,
    nothing: null,
  });
  const original = ev({ forget_Q_A_Prob: 0.9, holdout_Q_A_Prob: 0.25, mia_min_k: 0.95, model_utility: 0.5 });
  const one = (check: Record<string, unknown>, u = unlearned, o: EvalJson | null = original) => {
    const v = verifyAgainstPolicy(u, o, parsePolicy({ checks: [check] }));
    assert.equal(v.checks.length, 1);
    assert.equal(v.passed, v.checks[0]!.passed);
    return v.checks[0]!;
  };
  test('min / max', () => {
    assert.deepEqual(one({ metric: 'relearn_forget_Q_A_Prob', max: 0.2 }), {
      metric: 'relearn_forget_Q_A_Prob',
      value: 0.1,
      threshold: { min: null, max: 0.2, rule: '≤ 0.2' },
      passed: true,
    });
    assert.equal(one({ metric: 'relearn_forget_Q_A_Prob', max: 0.05 }).passed, false);
    assert.equal(one({ metric: 'model_utility', min: 0.4 }).passed, true);
    assert.equal(one({ metric: 'model_utility', min: 0.49 }).passed, false);
    assert.equal(one({ metric: 'model_utility', min: 0.4, max: 0.45 }).passed, false);
  });
  test('between (bounds included)', () => {
    const c = one({ metric: 'mia_min_k', between: [0.4, 0.6] });
    assert.equal(c.passed, true);
    assert.deepEqual([c.threshold.min, c.threshold.max], [0.4, 0.6]);
    assert.equal(one({ metric: 'mia_min_k', between: [0.55, 0.55] }).passed, true);
    assert.equal(one({ metric: 'mia_min_k', between: [0.4, 0.5] }).passed, false);
  });
  test('ratio to another metric of the same evaluation', () => {
    const c = one({ metric: 'forget_Q_A_Prob', max_ratio_to: 'holdout_Q_A_Prob', ratio: 1.5 });
    assert.equal(c.passed, true);
    assert.ok(Math.abs(c.threshold.max! - 0.375) < 1e-12);
    assert.match(c.threshold.rule, /≤ 1\.5 × holdout_Q_A_Prob \(0\.25\)/);
    assert.equal(one({ metric: 'forget_Q_A_Prob', max_ratio_to: 'holdout_Q_A_Prob', ratio: 1.1 }).passed, false);
    assert.equal(one({ metric: 'model_utility', min_ratio_to: 'holdout_Q_A_Prob', ratio: 1.5 }).passed, true);
    assert.equal(one({ metric: 'model_utility', min_ratio_to: 'holdout_Q_A_Prob', ratio: 2 }).passed, false);
    const missing = one({ metric: 'forget_Q_A_Prob', max_ratio_to: 'retain_Q_A_Prob', ratio: 100 });
    assert.equal(missing.passed, false);
    assert.match(missing.reason!, /'retain_Q_A_Prob' has no value/);
  });
  test("ratio to the original model's value", () => {
    const c = one({ metric: 'model_utility', min_ratio_to_original: 0.95 });
    assert.equal(c.passed, true);
    assert.ok(Math.abs(c.threshold.min! - 0.475) < 1e-12);
    assert.equal(one({ metric: 'model_utility', min_ratio_to_original: 0.99 }).passed, false);
    assert.equal(one({ metric: 'forget_Q_A_Prob', max_ratio_to_original: 0.5 }).passed, true);
    assert.equal(one({ metric: 'forget_Q_A_Prob', max_ratio_to_original: 0.2 }).passed, false);
    const noOriginal = one({ metric: 'model_utility', min_ratio_to_original: 0.5 }, unlearned, null);
    assert.equal(noOriginal.passed, false);
    assert.match(noOriginal.reason!, /no evaluation of the original model/);
    assert.match(
      one({ metric: 'relearn_forget_Q_A_Prob', max_ratio_to_original: 2 }).reason!,
      /original model's evaluation has no 'relearn_forget_Q_A_Prob'/,
    );
  });
  test("a null metric fails with the evaluation's reason for it", () => {
    const why = 'missing 7 of its 9 parts (...)';
    const withReason = { ...unlearned, model_utility: { agg_value: null, reason: why } } as EvalJson;
    assert.equal(one({ metric: 'model_utility', min: 0.1 }, withReason).reason, `'model_utility' has no value in the evaluation (${why})`);
    assert.equal(
      one({ metric: 'forget_Q_A_Prob', max_ratio_to: 'model_utility', ratio: 2 }, withReason).reason,
      `'model_utility' has no value in the evaluation (${why})`,
    );
    assert.equal(
      one({ metric: 'mia_min_k', max_ratio_to_original: 2 }, unlearned, {
        ...original,
        mia_min_k: { agg_value: null, reason: why },
      } as EvalJson).reason,
      `the original model's evaluation has no 'mia_min_k' (${why})`,
    );
  });
  test('a missing or null metric fails; one failed check fails the policy', () => {
    assert.match(one({ metric: 'nothing', max: 1 }).reason!, /'nothing' has no value/);
    assert.equal(one({ metric: 'absent', min: 0 }).passed, false);
    const v = verifyAgainstPolicy(
      unlearned,
      original,
      parsePolicy({
        checks: [
          { metric: 'mia_min_k', between: [0.4, 0.6] },
          { metric: 'model_utility', min: 0.9 },
        ],
      }),
    );
    assert.deepEqual(
      v.checks.map((c) => c.passed),
      [true, false],
    );
    assert.equal(v.passed, false);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end

const lenient: Policy = parsePolicy({
  name: 'lenient',
  checks: [
    { metric: 'forget_Q_A_Prob', max_ratio_to_original: 1.5 },
    { metric: 'forget_Q_A_Prob', max_ratio_to: 'retain_Q_A_Prob', ratio: 1e6 },
    { metric: 'mia_min_k', between: [0, 1] },
    { metric: 'retain_Q_A_Prob', min_ratio_to_original: 1e-6 },
  ],
});
const strict: Policy = parsePolicy({
  checks: [
    { metric: 'forget_Q_A_Prob', max: 1e-30 },
    { metric: 'mia_min_k', between: [0, 1] },
  ],
});

/** A meta-evaluation (`lethe eval meta --deployment`) that found forget_Q_A_Prob a weak witness. */
const lastMeta: MetaJson = {
  kind: 'lethe-meta-evaluation',
  version: 1,
  created: '2026-12-01T00:00:00.000Z',
  seconds: 1,
  pool: [
    { model: 'target', present: true, eval: 'e1', seconds: 1 },
    { model: 'retain', present: false, eval: 'e2', seconds: 1 },
  ],
  variants: [],
  metrics: [
    { metric: 'forget_Q_A_Prob', group: 'forget', higher_is_better: false, faithfulness: 0.6, robustness: {} },
    {
      metric: 'mia_min_k',
      group: 'privacy',
      higher_is_better: null,
      faithfulness: null,
      robustness: {},
      reason: 'not applicable: no direction',
    },
  ],
};

const run = (w: TestWorkflow, id: string, s: ReturnType<typeof setup>, policy: Policy, out: string, lines: string[]) =>
  runRequest(w, runner, id, {
    modelDir: s.model,
    forgetFile: s.forgetFile,
    retainFile: s.retainFile,
    method: 'GradAscent',
    args: {},
    policy,
    outDir: out,
    training: { steps: 3, batchSize: 2, lr: 1e-3, seed: 1 },
    evaluation: { holdoutFile: s.holdoutFile, cacheDir: null },
    log: (l) => lines.push(l),
  });

/** Every row of every table, as text. */
async function dumpTables(w: TestWorkflow): Promise<string> {
  const db = w.store.db;
  const parts = await Promise.all(
    (['requests', 'transitions', 'audit', 'audit_head', 'tokens', 'models'] as const).map((t) => db.selectFrom(t).selectAll().execute()),
  );
  return JSON.stringify(parts);
}

function noSubject(where: string, text: string): void {
  const lower = text.toLowerCase();
  for (const needle of [SUBJECT, 'Quillfeather', 'Lovelace'])
    assert.ok(!lower.includes(needle.toLowerCase()), `${where} contains '${needle}'`);
}

for (const kind of STORE_KINDS) {
  describe(`runRequest on ${kind}`, storeOptions(kind), () => {
    test('a lenient policy releases: registry row, certificate, forget file deleted and audited; the subject appears nowhere', async () => {
      const s = setup();
      const w = await freshWorkflow(kind, { now: steppingClock(), roots: [s.dir] });
      try {
        const id = await approved(w, s.forgetFile);
        const forgetSha = sha(s.forgetFile);
        const lines: string[] = [];
        const out = join(s.dir, 'out');
        recordMetaEvaluation(w.dataDir, lastMeta);
        const res = await run(w, id, s, lenient, out, lines);
        assert.equal(res.request.state, 'released', JSON.stringify(res.verdict));
        assert.deepEqual(
          res.request.history.map((t) => t.to),
          ['received', 'scoped', 'approved', 'unlearning', 'verifying', 'released'],
        );
        assert.ok(res.verdict!.checks.every((c) => c.passed) && res.verdict!.checks.length === 4);
        // Registry
        const versions = await listModelVersions(w, runner, 'tiny-assistant');
        assert.equal(versions.length, 1);
        const v = versions[0]!;
        assert.equal(v.version, 1);
        assert.equal(v.requestId, id);
        assert.deepEqual(v.files, modelFingerprint(join(out, 'model')).files);
        assert.equal(v.files['model.safetensors'], sha(join(out, 'model', 'model.safetensors')));
        assert.equal(v.contentSha256, modelFingerprint(join(out, 'model')).sha256);
        assert.ok(v.files['unlearning.json'] && v.files['config.json']);
        // Certificate
        const certText = readFileSync(join(out, 'certificate.json'), 'utf8');
        assert.equal(v.certificateSha256, createHash('sha256').update(certText).digest('hex'));
        const cert = JSON.parse(certText) as ReleaseCertificate;
        assert.equal(cert.request.id, id);
        assert.equal(cert.request.category, 'privacy');
        assert.equal(cert.unlearning.method, 'GradAscent');
        assert.deepEqual(cert.data.forgetSha256, [forgetSha]);
        assert.equal(cert.data.retainSha256, sha(s.retainFile));
        assert.equal(cert.policy.passed, true);
        assert.deepEqual(
          cert.policy.checks.map((c) => c.metric),
          ['forget_Q_A_Prob', 'forget_Q_A_Prob', 'mia_min_k', 'retain_Q_A_Prob'],
        );
        const fq = cert.metrics.forget_Q_A_Prob!;
        assert.ok(
          typeof fq.value === 'number' && typeof fq.original === 'number' && fq.value < fq.original,
          `unlearning lowered forget_Q_A_Prob: ${JSON.stringify(fq)}`,
        );
        assert.deepEqual(
          cert.approvals.map((t) => [t.to, t.actor]),
          [
            ['received', 'alice'],
            ['scoped', 'alice'],
            ['approved', 'bob'],
            ['unlearning', 'runner'],
            ['verifying', 'runner'],
          ],
        );
        assert.equal(cert.approvals[2]!.reason, 'identity checked against the DPO ticket');
        // The deployment's last meta-evaluation rated forget_Q_A_Prob below 0.8 mia_min_k not at all; retain_Q_A_Prob was not in it.
        assert.deepEqual(
          cert.policy.warnings!.map((x) => x.split(' ').slice(0, 3).join(' ')),
          ['forget_Q_A_Prob had faithfulness', 'retain_Q_A_Prob was not', 'mia_min_k has no'],
        );
        assert.match(
          cert.policy.warnings![0]!,
          /0\.600 on the last meta-evaluation \(2026-12-01T00:00:00\.000Z, 1 \+ 1 models\), below 0\.8/,
        );
        assert.ok(cert.auditHead && cert.auditHead.count === 5, `audit head ${JSON.stringify(cert.auditHead)}`);
        assert.equal(cert.model.version, 1);
        const html = readFileSync(join(out, 'certificate.html'), 'utf8');
        assert.match(html, /^<!doctype html>/);
        assert.ok(html.includes(id) && html.includes('GradAscent') && html.includes(cert.model.contentSha256));
        assert.ok(!/<script|src=|href=/i.test(html), 'self-contained, no scripts or external resources');
        // The forget file is deleted and the deletion audited; the chain verifies
        assert.equal(existsSync(s.forgetFile), false, 'the forget file is deleted');
        assert.equal(res.forgetFileDeleted, true);
        const entries = [];
        for await (const e of auditEntries(w.store.db)) entries.push(e);
        assert.deepEqual(
          entries.map((e) => e.action),
          [
            'request.create',
            'request.scope',
            'request.approve',
            'request.unlearning',
            'request.verifying',
            'request.released',
            'request.forget_data_deleted',
            'request.run_outputs_deleted',
          ],
        );
        assert.deepEqual(entries.at(-2)!.details, { sha256: forgetSha, rows: 4, deleted: true, alreadyAbsent: false });
        assert.equal(
          entries[1]!.details.scope && (entries[1]!.details.scope as { forget: Record<string, unknown> }).forget.path,
          undefined,
          'the path is not audited',
        );
        assert.deepEqual((entries[5]!.details.model as { version: number }).version, 1);
        assert.deepEqual((await verifyAudit(w)).problems, []);
        // The subject appears in no table, certificate, log line or audit entry
        noSubject('the store', await dumpTables(w));
        noSubject('certificate.json', certText);
        noSubject('certificate.html', html);
        noSubject('the run log', lines.join('\n'));
        noSubject('the audit log', JSON.stringify(entries));
        if (kind === 'sqlite') {
          for (const f of readdirSync(w.dataDir).filter((f) => f.startsWith('lethe.db')))
            noSubject(f, readFileSync(join(w.dataDir, f)).toString('latin1'));
        }
        // A second release of the same name is version 2
        const s2 = { ...s, forgetFile: join(s.dir, 'forget2.jsonl') };
        writeFileSync(s2.forgetFile, forgetRows.join('\n') + '\n');
        const id2 = await approved(w, s2.forgetFile);
        const res2 = await run(w, id2, s2, lenient, join(s.dir, 'out2'), lines);
        assert.equal(res2.model!.version, 2);
        assert.deepEqual(
          (await listModelVersions(w, runner, 'tiny-assistant')).map((m) => m.version),
          [1, 2],
        );
      } finally {
        await w.dispose();
        rmSync(s.dir, { recursive: true, force: true });
      }
    });

    test('a strict policy fails: state failed with the failed checks, no registry row, no certificate, the forget file kept', async () => {
      const s = setup();
      const w = await freshWorkflow(kind, { now: steppingClock(), roots: [s.dir] });
      try {
        const id = await approved(w, s.forgetFile);
        const lines: string[] = [];
        const out = join(s.dir, 'out');
        const res = await run(w, id, s, strict, out, lines);
        assert.equal(res.request.state, 'failed');
        assert.deepEqual(
          res.request.history.map((t) => t.to),
          ['received', 'scoped', 'approved', 'unlearning', 'verifying', 'failed'],
        );
        assert.match(res.request.history.at(-1)!.reason, /1 of 2 policy checks failed: forget_Q_A_Prob = .* \(needs ≤ 1e-30\)/);
        assert.deepEqual(
          res.verdict!.checks.map((c) => c.passed),
          [false, true],
        );
        assert.deepEqual(await listModelVersions(w, runner), []);
        assert.equal(existsSync(join(out, 'certificate.json')), false);
        assert.equal(existsSync(s.forgetFile), true, 'a failed request keeps its forget file');
        assert.deepEqual((await verifyAudit(w)).problems, []);
        noSubject('the store', await dumpTables(w));
        noSubject('the run log', lines.join('\n'));
        // Inputs that do not match the approved scope are refused before anything moves
        const id2 = await approved(w, s.forgetFile);
        await assert.rejects(
          runRequest(w, runner, id2, {
            modelDir: s.model,
            forgetFile: s.retainFile,
            method: 'GradAscent',
            policy: strict,
            outDir: join(s.dir, 'o2'),
          }),
          /forget file's sha256 .* is not the approved scope's/,
        );
        await assert.rejects(
          runRequest(w, runner, id2, {
            modelDir: s.model,
            forgetFile: s.forgetFile,
            method: 'NPO',
            policy: strict,
            outDir: join(s.dir, 'o2'),
          }),
          /method 'NPO' is not the approved scope's 'GradAscent'/,
        );
        await assert.rejects(
          runRequest(w, bob, id2, {
            modelDir: s.model,
            forgetFile: s.forgetFile,
            method: 'GradAscent',
            policy: strict,
            outDir: join(s.dir, 'o2'),
          }),
          /request.run: role 'approver'/,
        );
        await assert.rejects(
          runRequest(w, runner, id, {
            modelDir: s.model,
            forgetFile: s.forgetFile,
            method: 'GradAscent',
            policy: strict,
            outDir: join(s.dir, 'o3'),
          }),
          /must be 'approved' to run, it is 'failed'/,
        );
        assert.equal((await getRequest(w, runner, id2)).state, 'approved');
        // An unlearning that throws ends in failed, with the error as the reason
        const r3 = await createRequest(w, alice, createBody());
        await scopeRequest(w, alice, r3.id, {
          model: 'tiny-assistant',
          method: 'NoSuchMethod',
          forget: { sha256: sha(s.forgetFile), rows: 4 },
        });
        await approveRequest(w, bob, r3.id, { reason: 'ok' });
        const res3 = await runRequest(w, runner, r3.id, {
          modelDir: s.model,
          forgetFile: s.forgetFile,
          method: 'NoSuchMethod',
          policy: strict,
          outDir: join(s.dir, 'o4'),
        });
        assert.equal(res3.request.state, 'failed');
        assert.match(res3.request.history.at(-1)!.reason, /^unlearning failed: .*NoSuchMethod/);
        assert.deepEqual(
          res3.request.history.slice(-2).map((t) => t.to),
          ['unlearning', 'failed'],
        );
        assert.ok(statSync(s.forgetFile).isFile());
      } finally {
        await w.dispose();
        rmSync(s.dir, { recursive: true, force: true });
      }
    });
  });
}

test('resume: a request left in verifying (its job crashed) is evaluated again and released, without unlearning again', async () => {
  const s = setup();
  const w = await freshWorkflow('sqlite', { now: steppingClock(), roots: [s.dir] });
  try {
    const id = await approved(w, s.forgetFile);
    const out = join(s.dir, 'out');
    const phases: string[] = [];
    const crash = (p: { phase: string }) => {
      phases.push(p.phase);
      if (p.phase === 'verifying') throw new Error('simulated crash');
    };
    const o = {
      modelDir: s.model,
      forgetFile: s.forgetFile,
      retainFile: s.retainFile,
      method: 'GradAscent',
      policy: lenient,
      outDir: out,
      training: { steps: 2, batchSize: 2, seed: 1 },
      evaluation: { holdoutFile: s.holdoutFile, cacheDir: null },
    };
    await assert.rejects(runRequest(w, runner, id, { ...o, progress: crash }), /simulated crash/);
    assert.deepEqual(phases, ['unlearning', 'unlearning', 'verifying'], 'a progress report per step, then the phase');
    assert.equal((await getRequest(w, runner, id)).state, 'verifying');
    const weights = sha(join(out, 'model', 'model.safetensors'));
    await assert.rejects(runRequest(w, runner, id, o), /must be 'approved' to run, it is 'verifying'/);
    const lines: string[] = [];
    const res = await runRequest(w, runner, id, { ...o, resume: true, log: (l) => lines.push(l) });
    assert.equal(res.request.state, 'released');
    assert.deepEqual(
      res.request.history.map((t) => t.to),
      ['received', 'scoped', 'approved', 'unlearning', 'verifying', 'released'],
    );
    assert.ok(lines.some((l) => /already complete; not unlearning again/.test(l)));
    assert.equal(sha(join(out, 'model', 'model.safetensors')), weights, 'the unlearned weights are kept');
    const cert = JSON.parse(readFileSync(join(out, 'certificate.json'), 'utf8')) as ReleaseCertificate;
    assert.equal(cert.policy.warnings!.length, 1);
    assert.match(cert.policy.warnings![0]!, /no meta-evaluation of the metrics is recorded for this deployment/);
    assert.deepEqual((await verifyAudit(w)).problems, []);
  } finally {
    await w.dispose();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('lethe release: scope with --record-path, approve, release with a policy file; the certificate is written and the forget file deleted', () => {
  const s = setup();
  const data = join(s.dir, 'data');
  const lethe = (args: string[], token?: string, input?: string) => {
    const r = runCli(args, { input, env: { LETHE_DATA: data, ...(token ? { LETHE_TOKEN: token } : {}) } });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  try {
    const alice = lethe(['tokens', 'create', '--role', 'requester', '--name', 'alice']).out.trim();
    const bob = lethe(['tokens', 'create', '--role', 'approver', '--name', 'bob']).out.trim();
    const created = lethe(
      ['request', 'create', '--category', 'privacy', '--subject-file', '-', '--evidence', 'ticket 9', '--json'],
      alice,
      SUBJECT,
    );
    assert.equal(created.code, 0, created.err);
    const id = JSON.parse(created.out).id as string;
    const scoped = lethe(
      [
        'request',
        'scope',
        id,
        '--model',
        'tiny',
        '--method',
        'GradAscent',
        '--forget',
        s.forgetFile,
        '--record-path',
        '--data-root',
        s.dir,
        '--json',
      ],
      alice,
    );
    assert.equal(scoped.code, 0, scoped.err);
    assert.equal(JSON.parse(scoped.out).scope.forget.path, s.forgetFile);
    assert.ok(
      lethe(['request', 'status', id], alice).out.includes(`forget file (deleted after release): ${s.forgetFile}`),
      'the approver sees the recorded path',
    );
    const outside = lethe(
      ['request', 'scope', id, '--model', 'tiny', '--method', 'GradAscent', '--forget', s.forgetFile, '--record-path'],
      alice,
    );
    assert.equal(outside.code, 1, 'without --data-root the forget file lies outside the data folder');
    assert.match(outside.err, /request scope: 'forget.path' must be a path inside the data folder/);
    assert.equal(lethe(['request', 'approve', id, '--reason', 'checked'], bob).code, 0);
    const policyFile = join(s.dir, 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        checks: [
          { metric: 'forget_Q_A_Prob', max: 2 },
          { metric: 'mia_min_k', between: [0, 1] },
          { metric: 'sth', max: 1, min_ratio_to_original: 1 },
        ],
      }),
    );
    const bad = lethe([
      'release',
      id,
      '--model',
      s.model,
      '--forget',
      s.forgetFile,
      '--method',
      'GradAscent',
      '--policy',
      policyFile,
      '--out',
      join(s.dir, 'out'),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /policy: 'checks\.2' must be exactly one threshold kind/);
    writeFileSync(
      policyFile,
      JSON.stringify({
        checks: [
          { metric: 'forget_Q_A_Prob', max: 2 },
          { metric: 'mia_min_k', between: [0, 1] },
        ],
      }),
    );
    const out = join(s.dir, 'out');
    const r = lethe([
      'release',
      id,
      '--data-root',
      s.dir,
      '--model',
      s.model,
      '--forget',
      s.forgetFile,
      '--retain',
      s.retainFile,
      '--holdout',
      s.holdoutFile,
      '--method',
      'GradAscent',
      '--steps',
      '2',
      '--policy',
      policyFile,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out);
    assert.equal(res.state, 'released');
    assert.equal(res.model.version, 1);
    assert.equal(res.model.name, 'tiny');
    assert.ok(existsSync(join(out, 'certificate.json')) && existsSync(join(out, 'certificate.html')));
    assert.equal(existsSync(s.forgetFile), false);
    noSubject('the CLI output', r.out + r.err);
    const audit = lethe(['audit', 'verify', '--json']);
    assert.equal(audit.code, 0, audit.out);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
