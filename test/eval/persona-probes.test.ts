// The persona probe metrics (forget|holdout _paraphrase_Prob, _mc_Acc, _mc_Prob, _cloze_Prob,
// _chain_Prob) end to end on a built tiny persona suite and the llama-tiny fixture, against values
// computed here by hand: one sequence at a time through model.forward and tokenLogProbs (not the
// evaluator's batched statistics), then the formulas written out. Also: missing inputs are null with a
// reason, and a release policy reads the new metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { torch, evaluate, loadModel, loadTokenizer, type CausalLM, type Tokenizer } from '../../src/index.js';
import { tokenLogProbs, IGNORE_INDEX } from '../../src/models/loss.js';
import { encodeQa } from '../../src/eval/qa.js';
import { buildPersona, PERSON_FIELDS } from '../../src/data/persona.js';
import { writeSuite } from '../../src/data/suite.js';
import { loadSets } from '../../src/eval/suites.js';
import { getMetric, needKey, type EvalItemSet, type MetricContext, type Need } from '../../src/eval/metrics/index.js';
import { parsePolicy, verifyAgainstPolicy } from '../../src/workflow/policy.js';
import { requireFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';

const PROBE_METRICS = ['paraphrase_Prob', 'mc_Acc', 'mc_Prob', 'cloze_Prob', 'chain_Prob'].flatMap((m) => [`forget_${m}`, `holdout_${m}`]);

/** Sum of log p(token) over ids[promptLength:], one sequence, one forward. */
function logLikelihood(model: CausalLM, ids: number[], promptLength: number): { sum: number; n: number } {
  return torch.tidy(() =>
    torch.noGrad(() => {
      const logits = model.forward(torch.tensor([ids], { dtype: 'int64' })).logits;
      const labels = torch.tensor([ids.map((t, k) => (k < promptLength ? IGNORE_INDEX : t))], { dtype: 'int64' });
      const { logProbs, mask } = tokenLogProbs(logits, labels);
      return { sum: logProbs.sum().item() as number, n: mask.sum().item() as number };
    }),
  );
}

/** A QA answer's log-likelihood given the question, with the EOS after it when the tokenizer has one (the *_Q_A_Prob convention). */
async function qaLogLikelihood(model: CausalLM, tok: Tokenizer, question: string, answer: string) {
  const { ids, promptLength } = await encodeQa(tok, question, answer);
  assert.ok(ids.length < model.config.maxPositionEmbeddings, `"${question} ${answer}" fits the model uncut`);
  return logLikelihood(model, tok.eosTokenId === null ? ids : [...ids, tok.eosTokenId], promptLength);
}

const probOf = (ll: { sum: number; n: number }) => Math.exp(ll.sum / ll.n);
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Hand-made probe sets in the rows' shapes (src/data/persona-probes.ts), short enough for the fixture's
// 64 positions, so nothing is cut and the reference is the whole sequence.
const person = (k: number, who: string) => ({ name: ['Ann', 'Bo', 'Cy', 'Di'][k]!, id: `${who}-${k}` });
function handSets(who: 'forget' | 'holdout'): EvalItemSet[] {
  const ps = (who === 'forget' ? [0, 1] : [2, 3]).map((k) => person(k, who));
  const cities = ['Oslo', 'Rome', 'Lima', 'Kiev'];
  const qs = ['Where is the home of {n}?', 'In which town does {n} reside?', 'Which city is {n} living in?'];
  const paraphrase = ps.flatMap((p, i) =>
    qs.map((q, t) => ({
      question: q.replace('{n}', p.name),
      answer: `${p.name} lives in ${cities[i]}.`,
      person_id: p.id,
      field: 'address',
      template: t,
    })),
  );
  // Options of unequal lengths, so that the log-likelihood's argmax (acc) and the per-character one
  // (acc_norm) choose differently; the gold positions give hits and misses on the fixture.
  const towns = ['Oslo', 'Montevideo', 'Rio', 'Tegucigalpa'];
  const mc = ps.flatMap((p) =>
    [
      [0, 0],
      [2, 2],
      [1, 2],
    ].map(([i, gold]) => {
      const options = [0, 1, 2].map((j) => towns[(i! + j) % 4]!);
      return {
        question: `Home of ${p.name}: ${options.join('; ')}?`,
        answer: `In ${options[gold!]}.`,
        perturbed_answer: options.filter((_, j) => j !== gold).map((c) => `In ${c}.`),
        options,
        gold: gold!,
        person_id: p.id,
        field: 'address',
      };
    }),
  );
  const cloze = ps.flatMap((p, i) => [
    {
      statement: `Post for ${p.name} goes to ___.`,
      prompt: `Post for ${p.name} goes to`,
      completion: ` ${cities[i]}`,
      person_id: p.id,
      field: 'address',
    },
    { statement: `${p.name} was raised by ___.`, prompt: `${p.name} was raised by`, completion: ' Eva', person_id: p.id, field: 'mother' },
  ]);
  const chain = ps.flatMap((p, i) => [
    {
      question: `The person born in ${cities[i]} works where?`,
      answer: `${p.name} works at Acme.`,
      clue: 'birth',
      person_id: p.id,
      field: 'employer',
    },
    {
      question: `The person at ${i + 4} Elm Road earns what?`,
      answer: `${p.name} earns $${i + 5}0,000.`,
      clue: 'address',
      person_id: p.id,
      field: 'salary',
    },
  ]);
  const set = (probe: string, kind: 'qa' | 'pair', items: Record<string, unknown>[]): EvalItemSet => ({
    name: `${who}_${probe}`,
    kind,
    description: 'hand-made',
    items,
  });
  return [set('paraphrase', 'qa', paraphrase), set('mc', 'qa', mc), set('cloze', 'pair', cloze), set('chain', 'qa', chain)];
}

test('the probe metrics match hand-computed values on the llama-tiny fixture (forget and holdout sets)', async () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const tok = loadTokenizer(requireFixture('tokenizer'));
  const sets = [...handSets('forget'), ...handSets('holdout')];
  const setOf = (name: string) => sets.find((s) => s.name === name)!;
  try {
    const r = await evaluate({ model, tokenizer: tok, sets, metrics: PROBE_METRICS, cacheDir: null, log: () => {} });
    for (const who of ['forget', 'holdout']) {
      // Paraphrase and chain: P(answer | question), per item, then the mean and the per-group means.
      for (const [probe, by] of [
        ['paraphrase', 'template'],
        ['chain', 'clue'],
      ] as const) {
        const items = setOf(`${who}_${probe}`).items;
        const want: number[] = [];
        for (const it of items) want.push(probOf(await qaLogLikelihood(model, tok, String(it.question), String(it.answer))));
        const got = r.results.get(`${who}_${probe}_Prob`)!;
        assertClose(got.aggValue, meanOf(want), { rtol: 1e-4, what: `${who}_${probe}_Prob` });
        want.forEach((w, k) => assertClose(got.valueByIndex![String(k)]!.prob, w, { rtol: 1e-4, what: `${who}_${probe} item ${k}` }));
        const groups = [...new Set(items.map((it) => String(it[by])))];
        assert.ok(groups.length >= 2);
        for (const g of groups)
          assertClose((got.extra![`by_${by}`] as Record<string, number>)[g], meanOf(want.filter((_, k) => String(items[k]![by]) === g)), {
            rtol: 1e-4,
            what: `${who}_${probe} by ${by} ${g}`,
          });
      }
      // Cloze: P(completion | prompt) as plain text (no EOS, no QA format).
      const clozeWant: number[] = [];
      for (const it of setOf(`${who}_cloze`).items) {
        const prompt = String(it.prompt);
        const ids = await tok.encode(prompt + String(it.completion));
        assert.ok(ids.length <= model.config.maxPositionEmbeddings);
        clozeWant.push(probOf(logLikelihood(model, ids, (await tok.encode(prompt)).length)));
      }
      assertClose(r.results.get(`${who}_cloze_Prob`)!.aggValue, meanOf(clozeWant), { rtol: 1e-4, what: `${who}_cloze_Prob` });
      // Multiple choice: each option's answer-sentence log-likelihood; argmax and softmax.
      const mc = setOf(`${who}_mc`).items;
      let hits = 0;
      let normDiffers = 0;
      const shares: number[] = [];
      for (const it of mc) {
        const gold = it.gold as number;
        const wrong = it.perturbed_answer as string[];
        const answers = [...wrong.slice(0, gold), String(it.answer), ...wrong.slice(gold)];
        const lls: number[] = [];
        for (const a of answers) lls.push((await qaLogLikelihood(model, tok, String(it.question), a)).sum);
        const sorted = [...lls].sort((x, y) => y - x);
        assert.ok(sorted[0]! - sorted[1]! > 1e-3, 'no near-tie that rounding could flip');
        if (lls.indexOf(sorted[0]!) === gold) hits++;
        const perChar = lls.map((ll, j) => ll / (it.options as string[])[j]!.length);
        if (perChar.indexOf(Math.max(...perChar)) !== lls.indexOf(sorted[0]!)) normDiffers++;
        shares.push(Math.exp(lls[gold]! - sorted[0]!) / lls.reduce((s, x) => s + Math.exp(x - sorted[0]!), 0));
      }
      assert.ok(hits > 0 && hits < mc.length && normDiffers > 0, `${who}: the items tell right from wrong and acc from acc_norm`);
      assert.equal(r.results.get(`${who}_mc_Acc`)!.aggValue, hits / mc.length, `${who}_mc_Acc`);
      assertClose(r.results.get(`${who}_mc_Prob`)!.aggValue, meanOf(shares), { rtol: 1e-4, what: `${who}_mc_Prob` });
      assertClose(r.results.get(`${who}_mc_Acc`)!.extra!.chance, 1 / 3, { what: 'chance with 3 options' });
    }
    // EVAL.json carries the role: forget probes lower-is-better, holdout a baseline.
    const meta = r.eval._meta as { metrics: Record<string, { higher_is_better: boolean | null }> };
    assert.equal(meta.metrics.forget_chain_Prob!.higher_is_better, false);
    assert.equal(meta.metrics.holdout_chain_Prob!.higher_is_better, null);

    // A release policy reads them by name like any metric.
    const v = (n: string) => r.results.get(n)!.aggValue!;
    const policy = parsePolicy({
      checks: [
        { metric: 'forget_paraphrase_Prob', max: v('forget_paraphrase_Prob') * 1.01 },
        {
          metric: 'forget_chain_Prob',
          max_ratio_to: 'holdout_chain_Prob',
          ratio: (0.99 * v('forget_chain_Prob')) / v('holdout_chain_Prob'),
        },
        { metric: 'forget_mc_Acc', between: [0, 1] },
      ],
    });
    assert.deepEqual(
      verifyAgainstPolicy(r.eval, null, policy).checks.map((c) => [c.metric, c.passed]),
      [
        ['forget_paraphrase_Prob', true],
        ['forget_chain_Prob', false],
        ['forget_mc_Acc', true],
      ],
    );
  } finally {
    model.dispose();
  }
});

/** The probe metrics of the llama-tiny fixture on a built suite. */
async function probeMetricsOn(dataDir: string, suite: string) {
  const model = loadModel(requireFixture('llama-tiny'));
  try {
    const r = await evaluate({
      model,
      tokenizer: loadTokenizer(requireFixture('tokenizer')),
      suite,
      dataDir,
      metrics: PROBE_METRICS,
      cacheDir: null,
      log: () => {},
    });
    return PROBE_METRICS.map((name) => [name, r.results.get(name)!] as const);
  } finally {
    model.dispose();
  }
}

test('a built persona suite gives the probe sets of the forget and the never-trained people', async () => {
  const dir = tempDir('lethe-persona-probes-');
  writeSuite(join(dir, 'persona'), buildPersona({ seed: 11, size: 'tiny' }), { seed: 11, size: 'tiny' }, 'test');
  const { sets } = loadSets({ suite: 'persona:forget05', dataDir: dir });
  const ids = (name: string) => new Set(sets.find((s) => s.name === name)!.items.map((it) => String(it.person_id)));
  for (const who of ['forget', 'holdout'])
    for (const [probe, kind, perFact] of [
      ['paraphrase', 'qa', 3],
      ['mc', 'qa', 1],
      ['cloze', 'pair', 1],
      ['chain', 'qa', 1],
    ] as const) {
      const s = sets.find((x) => x.name === `${who}_${probe}`)!;
      assert.equal(s.kind, kind);
      assert.deepEqual(ids(s.name), ids(who), `${s.name}: the ${who} set's people`);
      assert.equal(s.items.length, ids(who).size * PERSON_FIELDS.length * perFact, s.name);
    }
  // And they evaluate (the fixture's 64 positions cut the longer rows; the numbers are the evaluator's).
  for (const [name, r] of await probeMetricsOn(dir, 'persona:forget05'))
    assert.ok(r.aggValue !== null && r.aggValue >= 0 && r.aggValue <= 1, `${name} = ${r.aggValue}`);
});

test('without the probe files (a suite built before them) the probe metrics are null naming the missing set', async () => {
  const old = tempDir('lethe-persona-noprobes-');
  writeSuite(join(old, 'persona'), buildPersona({ seed: 11, size: 'tiny' }), { seed: 11, size: 'tiny' }, 'test');
  rmSync(join(old, 'persona', 'probes'), { recursive: true });
  for (const [name, r] of await probeMetricsOn(old, 'persona:forget01')) {
    assert.equal(r.aggValue, null, name);
    assert.equal(r.reason, `needs the item set '${name.replace(/_(Prob|Acc)$/, '')}', which this suite does not have`, name);
  }
});

/** A metric context over hand-made sets and need values (as test/eval/partial-data.test.ts). */
function ctxOf(s: EvalItemSet, values: Record<string, unknown>): MetricContext {
  return {
    get: async <T>(n: Need) => values[needKey(n)] as T,
    set: () => s,
  };
}

test('forget_mc_Acc / _Prob: rows without their wrong options are null with the count, not scored on the rest', async () => {
  const seq = (lp: number) => ({ logProbs: [lp, lp], hits: [true, true], eos: true });
  const items = [0, 1, 2].map((k) => ({
    question: `Q${k}? Options: a; b.`,
    answer: 'a.',
    ...(k === 1 ? {} : { perturbed_answer: ['b.'] }),
    options: ['a', 'b'],
    gold: 0,
  }));
  const stats = items.map((it) => ({ true: seq(-1), ...(it.perturbed_answer ? { pert: [seq(-2)] } : {}), text: it.answer }));
  const ctx = ctxOf({ name: 'forget_mc', kind: 'qa', description: 'hand-made', items }, { 'stats:forget_mc': stats });
  for (const name of ['forget_mc_Acc', 'forget_mc_Prob']) {
    const got = await getMetric(name).compute(ctx);
    assert.equal(got.aggValue, null, name);
    assert.match(got.reason!, /is missing in 1 of 3 rows of the forget_mc set \(items 1\)/);
  }
  // With them: true option log-likelihood -2 against -4: chosen, with share e^-2 / (e^-2 + e^-4).
  const full = items.map((it) => ({ ...it, perturbed_answer: ['b.'] }));
  const fullStats = full.map(() => ({ true: seq(-1), pert: [seq(-2)], text: 'a.' }));
  const ok = ctxOf({ name: 'forget_mc', kind: 'qa', description: 'hand-made', items: full }, { 'stats:forget_mc': fullStats });
  assert.equal((await getMetric('forget_mc_Acc').compute(ok)).aggValue, 1);
  assertClose((await getMetric('forget_mc_Prob').compute(ok)).aggValue, Math.exp(-2) / (Math.exp(-2) + Math.exp(-4)), { atol: 1e-12 });
});
