// Multiple-choice benchmarks (src/eval/mc/): the requests each layout builds and the scores of the HF
// fixture models equal test/eval/ref/make_mc_reference.py (lm-evaluation-harness's prompts and
// _encode_pair written again in Python, a float64 PyTorch forward per request): per-choice
// log-likelihoods, acc, acc_norm, WinoGrande's partial scoring, few-shot contexts, BOS, left
// truncation. Then each layout's malformed rows, the --tasks syntax, the built-in tasks on a small
// built data folder (chance level on a random model), the shared-prefix batching, and the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluate, loadModel, loadTokenizer, type EvalEntry } from '../../src/index.js';
import type { CausalLM } from '../../src/models/model.js';
import type { Tokenizer } from '../../src/models/tokenizer.js';
import {
  buildItems,
  builtinDocs,
  decide,
  encodeRequest,
  loadMcTasks,
  parseTaskSpecs,
  readTaskFile,
  scoreItems,
  MC_LAYOUTS,
  type McItem,
  type McLayout,
} from '../../src/eval/mc/index.js';
import { fixturesDir, requireFixture, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../helpers/cli.js';
import { LetheError, type LetheErrorCode } from '../../src/util/errors.js';

const tmp = tempDir('lethe-mc-');
const quiet = () => {};
const taskFile = (layout: string) => requireRepoFixture('eval', 'ref', 'mc', `${layout}.jsonl`);

interface RefItem {
  requests: [string, string][];
  choices: string[];
  gold: number;
  fewshot: number[];
  loglikelihoods: number[];
  truncated: number[];
  pred: number;
  pred_norm: number;
}
interface RefConfig {
  model: string;
  bos: boolean;
  k: number;
  max_len?: number;
  tasks: Record<string, { items: RefItem[]; acc: number; acc_norm: number }>;
}
const reference = JSON.parse(readFileSync(requireRepoFixture('eval', 'ref', 'mc_reference.json'), 'utf8')) as {
  bos_id: number;
  configs: Record<string, RefConfig>;
};

// Tokenizers: the fixture's (no BOS), and the same with <|endoftext|> as BOS / EOS, as GPT-2 ships it.
const tokNoBos = loadTokenizer(requireFixture('tokenizer'));
const bosTokDir = join(tmp, 'tok-bos');
mkdirSync(bosTokDir);
copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(bosTokDir, 'tokenizer.json'));
writeFileSync(join(bosTokDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }));
const tokBos = loadTokenizer(bosTokDir);

/** A model folder: the fixture's weights, its config with overrides, and a tokenizer folder's files. */
function modelFolder(name: string, fixture: string, configOverride: Record<string, unknown>, tokDir: string): string {
  const dir = join(tmp, name);
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  const cfg = JSON.parse(readFileSync(requireFixture(fixture, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, ...configOverride }));
  symlinkSync(requireFixture(fixture, 'model.safetensors'), join(dir, 'model.safetensors'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    try {
      copyFileSync(join(tokDir, f), join(dir, f));
    } catch {
      // no tokenizer_config.json in the plain fixture tokenizer
    }
  }
  return dir;
}

function setup(cfg: RefConfig): { model: CausalLM; tok: Tokenizer } {
  const override = cfg.max_len ? { max_position_embeddings: cfg.max_len } : {};
  const dir = modelFolder(
    `m-${cfg.model}-${cfg.max_len ?? 'default'}-${cfg.bos}`,
    cfg.model,
    override,
    cfg.bos ? bosTokDir : requireFixture('tokenizer'),
  );
  return { model: loadModel(dir), tok: cfg.bos ? tokBos : tokNoBos };
}

function requestsOf(it: McItem): [string, string][] {
  return it.continuations.map((c, i) => [it.contexts ? it.contexts[i]! : it.context!, c]);
}

for (const [cname, cfg] of Object.entries(reference.configs)) {
  test(`${cname}: every layout's requests, log-likelihoods, acc and acc_norm equal the PyTorch reference`, async () => {
    const { model, tok } = setup(cfg);
    assert.equal(tok.bosTokenId === reference.bos_id, cfg.bos);
    try {
      const tasks = MC_LAYOUTS.map((l) => `${l}:${taskFile(l)}`);
      const out = join(tmp, `out-${cname}`);
      const r = await evaluate({ model, tokenizer: tok, tasks, numFewshot: cfg.k, cacheDir: null, outDir: out, log: quiet });
      const evalJson = JSON.parse(readFileSync(join(out, 'EVAL.json'), 'utf8')) as Record<string, EvalEntry>;
      for (const layout of MC_LAYOUTS) {
        const ref = cfg.tasks[layout]!;
        const items = loadMcTasks([`${layout}:${taskFile(layout)}`], { numFewshot: cfg.k })[0]!.items as unknown as McItem[];
        assert.equal(items.length, ref.items.length, `${layout}: item count`);
        items.forEach((it, k) => {
          const want = ref.items[k]!;
          assert.deepEqual(requestsOf(it), want.requests, `${layout} item ${k}: (context, continuation) requests`);
          assert.deepEqual(it.choices, want.choices, `${layout} item ${k}: choices`);
          assert.equal(it.gold, want.gold, `${layout} item ${k}: gold`);
          assert.deepEqual(it.fewshot ?? [], want.fewshot, `${layout} item ${k}: few-shot rows`);
        });
        const acc = evalJson[`mc_${layout}_acc`]!;
        const accNorm = evalJson[`mc_${layout}_acc_norm`]!;
        assert.equal(acc.agg_value, ref.acc, `${layout}: acc`);
        assert.equal(accNorm.agg_value, ref.acc_norm, `${layout}: acc_norm`);
        assert.equal(r.summary[`mc_${layout}_acc`], ref.acc);
        ref.items.forEach((want, k) => {
          const v = acc.value_by_index![String(k)]!;
          const vn = accNorm.value_by_index![String(k)]!;
          assertClose(v.loglikelihoods, want.loglikelihoods, {
            atol: 2e-4,
            rtol: 1e-5,
            what: `${cname} ${layout} item ${k} log-likelihoods`,
          });
          assert.equal(v.chosen, want.pred, `${layout} item ${k}: acc's choice`);
          assert.equal(vn.chosen, want.pred_norm, `${layout} item ${k}: acc_norm's choice`);
          assert.equal(v.gold, want.gold);
          assert.equal(v.score, want.pred === want.gold ? 1 : 0);
          assert.deepEqual(
            vn.lengths,
            want.choices.map((c) => [...c].length),
          );
          assert.deepEqual(
            v.truncated ?? want.loglikelihoods.map(() => 0),
            want.truncated,
            `${layout} item ${k}: tokens cut from the left`,
          );
        });
      }
    } finally {
      model.dispose();
    }
  });
}

test('the reference exercises what it should: WinoGrande partial scoring, few-shot, BOS, left truncation, a unicode choice', () => {
  const long = reference.configs.llama_long_bos_1shot!;
  const wino = long.tasks.winogrande!.items[0]!;
  // The option fills the blank in the context; the shared suffix after the blank is the continuation.
  assert.deepEqual(
    wino.requests.map((r) => r[1]),
    [' was tilted.', ' was tilted.'],
  );
  assert.ok(wino.requests[0]![0].endsWith('because the cup') && wino.requests[1]![0].endsWith('because the table'));
  assert.ok(
    long.tasks.mmlu!.items[0]!.requests[0]![0].startsWith(
      'The following are multiple choice questions (with answers) about elementary math.\n\nWhat is 3*3?\nA. 6',
    ),
  );
  assert.ok(reference.configs.gpt2_bos_1shot!.tasks.mmlu!.items[0]!.truncated.every((t) => t > 0));
  assert.ok(reference.configs.llama_0shot!.tasks.generic!.items[0]!.choices.includes('café au lait'));
});

test('the context is encoded once: all choices of an item share one prefix forward, then one batched forward', async () => {
  const { model, tok } = setup(reference.configs.llama_long_bos_1shot!);
  try {
    const calls: { shape: number[]; cached: number }[] = [];
    const forward = model.forward.bind(model);
    model.forward = (ids, o) => {
      calls.push({ shape: ids.shape, cached: o?.pastKeyValues?.length ?? 0 });
      return forward(ids, o);
    };
    const items = loadMcTasks([`arc:${taskFile('arc')}`])[0]!.items as unknown as McItem[];
    await scoreItems(model, tok, [items[1]!]);
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.shape[0], 1, 'the shared context runs once');
    assert.deepEqual([calls[1]!.shape[0], calls[1]!.cached], [4, calls[0]!.shape[1]], 'then the 4 choices together over its cache');
  } finally {
    model.dispose();
  }
});

test("trailing whitespace of the context moves to the continuation (lm-eval's _encode_pair)", async () => {
  assert.deepEqual(await encodeRequest(tokNoBos, 'Answer: ', 'yes'), await encodeRequest(tokNoBos, 'Answer:', ' yes'));
  const withBos = await encodeRequest(tokBos, 'Answer:', ' yes');
  assert.equal(withBos.context[0], reference.bos_id);
  assert.deepEqual(await encodeRequest(tokBos, '', 'yes'), {
    context: [reference.bos_id],
    continuation: await tokBos.encode('yes', { addSpecialTokens: false }),
  });
  await assert.rejects(encodeRequest(tokNoBos, '', 'yes'), /empty context needs a BOS or EOS/);
  await assert.rejects(encodeRequest(tokNoBos, 'Answer:', ''), /encodes to no tokens/);
});

test("continuation tokens are encode(context + continuation) after encode(context)'s length, even across a merge", async () => {
  // A greedy longest-match tokenizer that merges across the boundary: "xa" + "bc" → x|ab|c, "xa" → x|a.
  const vocab: Record<string, number> = { x: 1, a: 2, b: 3, c: 4, ab: 6, bc: 7 };
  const encode = async (text: string) => {
    const ids: number[] = [];
    for (let i = 0; i < text.length; ) {
      const piece = [2, 1].map((n) => text.slice(i, i + n)).find((p) => p in vocab)!;
      ids.push(vocab[piece]!);
      i += piece.length;
    }
    return ids;
  };
  const fake = { encode, bosTokenId: null, eosTokenId: 0 } as unknown as Tokenizer;
  // lm-eval's _encode_pair: whole = [x, ab, c], context = [x, a] → continuation = whole[2:] = [c] (not encode("bc") = [bc]).
  assert.deepEqual(await encodeRequest(fake, 'xa', 'bc'), { context: [1, 2], continuation: [4] });
});

test('acc_norm divides by the choice length in characters (Python len), not bytes or tokens; ties go to the first', () => {
  // 'éé': 2 characters, 4 bytes. Per character: -1 vs -0.9 → choice 1; per byte (-0.5 vs -0.9) it would be choice 0.
  assert.deepEqual(decide([-2, -2.7], ['éé', 'abc']), { pred: 0, predNorm: 1, normalized: [-1, -0.9] });
  assert.equal(decide([-1, -1, -3], ['a', 'b', 'c']).pred, 0);
});

// ---------------------------------------------------------------------------------------------
// Malformed rows: the file, the line and what was expected

const good: Record<McLayout, Record<string, unknown>> = {
  arc: { question: 'Q?', choices: { text: ['a', 'b'], label: ['A', 'B'] }, answerKey: 'A' },
  boolq: { passage: 'P.', question: 'q', answer: true },
  winogrande: { sentence: 'A _ b.', option1: 'x', option2: 'y', answer: '1' },
  hellaswag: { activity_label: 'L', ctx_a: 'a.', ctx_b: 'b', endings: ['x', 'y'], label: '1' },
  mmlu: { question: 'Q?', choices: ['1', '2', '3', '4'], answer: 2, subject: 's' },
  generic: { context: 'C', choices: ['x', 'y'], answer: 'y' },
};

/** A LetheError with `code` (and `field`, when given) whose message matches `re`. */
const refused = (code: LetheErrorCode, re: RegExp, field?: string) => (err: Error) => {
  assert.ok(err instanceof LetheError, err.message);
  assert.equal(err.code, code, err.message);
  assert.equal(err.field, field, err.message);
  assert.match(err.message, re);
  return true;
};

/** Rows that break their layout, what the message says, and the field named. */
const bad: [McLayout, Record<string, unknown>, RegExp, string][] = [
  [
    'arc',
    { question: 'Q?', choices: { text: ['a', 'b'], label: ['A', 'B'] }, answerKey: 'C' },
    /"answerKey" is not one of the 2 labels/,
    'answerKey',
  ],
  ['arc', { question: 'Q?', choices: ['a', 'b'], answerKey: 'A' }, /"choices" must be an object/, 'choices'],
  [
    'arc',
    { question: 'Q?', choices: { text: ['a', 'b'], label: ['A'] }, answerKey: 'A' },
    /"choices.label" has 1 entries but "choices.text" has 2/,
    'choices.label',
  ],
  ['boolq', { passage: 'P.', question: 'q', answer: 'yes' }, /"answer" must be true or false, got a string/, 'answer'],
  ['boolq', { question: 'q', answer: true }, /"passage" must be a string, got nothing/, 'passage'],
  ['winogrande', { sentence: 'No blank here.', option1: 'x', option2: 'y', answer: '1' }, /"sentence" has no "_" blank/, 'sentence'],
  ['winogrande', { sentence: 'A _ b.', option1: 'x', option2: 'y', answer: 1 }, /"answer" must be "1" or "2", got a number/, 'answer'],
  ['hellaswag', { activity_label: 'L', ctx_a: 'a.', endings: ['x', 'y'], label: '0' }, /needs string "ctx_a" and "ctx_b"/, 'ctx_a'],
  [
    'hellaswag',
    { activity_label: 'L', ctx_a: 'a.', ctx_b: 'b', endings: ['x', 'y'], label: '5' },
    /"label" must be an index 0..1, got a string/,
    'label',
  ],
  ['mmlu', { question: 'Q?', choices: ['1', '2', '3'], answer: 0, subject: 's' }, /"choices" needs at least 4 entries, got 3/, 'choices'],
  ['mmlu', { question: 'Q?', choices: ['1', '2', '3', '4'], answer: 0 }, /"subject" must be a string, got nothing/, 'subject'],
  [
    'mmlu',
    { question: 'Q?', choices: ['1', '2', '3', '4'], answer: 'E', subject: 's' },
    /"answer" must be an index 0..3, got a string/,
    'answer',
  ],
  ['generic', { context: 'C', choices: ['x', 'y'], answer: 'z' }, /"answer" is not one of the choices/, 'answer'],
  ['generic', { context: 'C', choices: 'x', answer: 0 }, /"choices" must be a list of strings/, 'choices'],
];

test('each layout parses its good rows and names the file, the line and the expected layout for a bad one', () => {
  for (const layout of MC_LAYOUTS) {
    const f = join(tmp, `good-${layout}.jsonl`);
    writeFileSync(f, `${JSON.stringify(good[layout])}\n`);
    assert.equal(readTaskFile(layout, f).docs.length, 1, layout);
  }
  bad.forEach(([layout, row, msg, field], k) => {
    const f = join(tmp, `bad-${k}-${layout}.jsonl`);
    writeFileSync(f, `${JSON.stringify(good[layout])}\n\n${JSON.stringify(row)}\n`);
    assert.throws(
      () => readTaskFile(layout, f),
      (err: Error) => {
        assert.ok(err instanceof LetheError && err.code === 'BAD_INPUT', `${layout} #${k}: ${err.message}`);
        assert.equal(err.field, field, `${layout} #${k} names the field: ${err.message}`);
        assert.ok(err.message.startsWith(`${f} line 3: `), `${layout} #${k} names file and line: ${err.message}`);
        assert.match(err.message, msg);
        assert.doesNotMatch(err.message, /got "|got \[|got \{/, "the row's values are not quoted (a row may be personal data)");
        assert.match(err.message, new RegExp(`\\(${layout} layout: \\{`), 'says what the layout expects');
        return true;
      },
    );
  });
  const notJson = join(tmp, 'not-json.jsonl');
  writeFileSync(notJson, `${JSON.stringify(good.arc)}\n{"question": \n`);
  assert.throws(
    () => readTaskFile('arc', notJson),
    refused(
      'BAD_INPUT',
      new RegExp(`arc task file: ${notJson}:2: not valid JSON( \\(at character \\d+\\))?; expected one JSON object per line`),
    ),
  );
  const list = join(tmp, 'list.jsonl');
  writeFileSync(list, '[1, 2]\n[3]\n');
  assert.throws(() => readTaskFile('boolq', list), refused('BAD_INPUT', /line 1: expected a JSON object \{"passage"/));
  writeFileSync(list, '[1, 2]\n');
  assert.throws(() => readTaskFile('boolq', list), refused('BAD_INPUT', /list\.jsonl is one JSON array; expected JSONL/));
  const empty = join(tmp, 'empty.jsonl');
  writeFileSync(empty, '\n\n');
  assert.throws(
    () => readTaskFile('mmlu', empty),
    refused('BAD_INPUT', /mmlu task file: .*empty\.jsonl holds no rows \(expected one mmlu row per line/),
  );
  assert.throws(() => readTaskFile('arc', join(tmp, 'nope.jsonl')), refused('NOT_FOUND', /nope\.jsonl does not exist/));
  assert.throws(
    () => readTaskFile('piqa' as McLayout, empty),
    refused('NOT_FOUND', /unknown multiple-choice layout 'piqa' \(known: arc, boolq/),
  );
});

test('--tasks syntax: built-ins, layout:FILE, name=layout:FILE; clear refusals', () => {
  assert.deepEqual(parseTaskSpecs('world_facts, arc:/x/a.jsonl,easy=arc:/x/e.jsonl,general_cloze:/y/h.jsonl'), [
    { name: 'world_facts', kind: 'world_facts', file: undefined },
    { name: 'arc', kind: 'arc', file: '/x/a.jsonl' },
    { name: 'easy', kind: 'arc', file: '/x/e.jsonl' },
    { name: 'general_cloze', kind: 'general_cloze', file: '/y/h.jsonl' },
  ]);
  assert.throws(
    () => parseTaskSpecs('piqa:/x.jsonl'),
    refused(
      'NOT_FOUND',
      /unknown task or layout 'piqa' \(built-in: world_facts, gcide_definitions, general_cloze; file layouts: arc:FILE/,
      'tasks',
    ),
  );
  assert.throws(() => parseTaskSpecs('arc'), refused('BAD_INPUT', /the arc layout needs a file \(arc:FILE\)/, 'tasks'));
  assert.throws(() => parseTaskSpecs('arc:/a,arc:/b'), refused('BAD_INPUT', /task 'arc' is given twice/, 'tasks'));
  assert.throws(() => parseTaskSpecs('bad-name=arc:/a'), refused('BAD_INPUT', /task name 'bad-name' must be letters/, 'tasks'));
  assert.throws(() => loadMcTasks('world_facts'), refused('BAD_INPUT', /pass --data DIR/));
});

test('few-shot examples never include the item; MMLU takes the first rows of its subject; k = 0 adds nothing', () => {
  const { docs, lines } = readTaskFile('arc', taskFile('arc'));
  const items = buildItems(docs, lines, 2);
  items.forEach((it, i) => {
    assert.equal(it.fewshot!.length, 2);
    assert.ok(!it.fewshot!.includes(i));
  });
  assert.deepEqual(buildItems(docs, lines, 2), items, 'deterministic');
  assert.equal(buildItems(docs, lines, 0)[0]!.context, 'Question: Which gas do plants take in?\nAnswer:');
  assert.deepEqual(lines, [1, 2, 4], 'blank lines are skipped but line numbers kept');
  const mmlu = readTaskFile('mmlu', taskFile('mmlu'));
  assert.deepEqual(
    buildItems(mmlu.docs, mmlu.lines, 3).map((it) => it.fewshot),
    [[1], [0], []],
  );
  assert.throws(() => buildItems(docs, lines, -1), /non-negative integer/);
});

// ---------------------------------------------------------------------------------------------
// Built-in tasks, from a small data folder laid out as `lethe data build all` writes it

const dataDir = join(tmp, 'data');
mkdirSync(join(dataDir, 'general', 'elements'), { recursive: true });
mkdirSync(join(dataDir, 'general', 'gcide'), { recursive: true });
const elements = ['hydrogen', 'helium', 'lithium', 'carbon', 'nitrogen', 'oxygen', 'sodium', 'iron', 'copper', 'silver', 'gold', 'tin'];
const symbols = ['H', 'He', 'Li', 'C', 'N', 'O', 'Na', 'Fe', 'Cu', 'Ag', 'Au', 'Sn'];
writeFileSync(
  join(dataDir, 'general', 'elements', 'facts_qa.jsonl'),
  elements
    .map((e, k) =>
      JSON.stringify({
        question: `What is the chemical symbol of ${e}?`,
        answer: `The chemical symbol of ${e} is ${symbols[k]}.`,
        perturbed_answer: [1, 2, 3].map((d) => `The chemical symbol of ${e} is ${symbols[(k + d) % symbols.length]}.`),
        element: e,
        fact: 'symbol',
      }),
    )
    .join('\n') + '\n',
);
const gcide = [
  'Octylene (n.): Any one of a series of metameric hydrocarbons of the ethylene series.',
  'Acceleratory (a.): Accelerative.',
  'overuse (v. t.): To use excessively; to use too often.',
  'overuse (n.): Excessive use of something that is common.',
  'Antaphroditic (n.): An antaphroditic medicine.',
  'Countermark (n.): 1. A mark added to those already existing on the goods. 2. An artificial cavity made in the teeth of horses.',
  'Atheistic (a.): 1. Pertaining to, implying, or containing, atheism. 2. Disbelieving the existence of a god.',
  'Mizzle (v. i.): To rain in very fine drops that fall slowly.',
  'Bedight (v. t.): To equip, dress or adorn with many fine things.',
  'Quern (n.): A simple mill for grinding grain by the hand.',
  'Tump (n.): A little hillock covered with grass.',
];
writeFileSync(join(dataDir, 'general', 'gcide', 'heldout.jsonl'), gcide.map((text) => JSON.stringify({ text })).join('\n') + '\n');

test('built-in tasks: world facts, GCIDE definitions and cloze items made from the data folder, deterministically', () => {
  const wf = builtinDocs('world_facts', { dataDir });
  assert.equal(wf.docs.length, 12);
  assert.equal(wf.docs[0]!.text, 'Question: What is the chemical symbol of hydrogen?\nAnswer:');
  assert.equal(wf.docs[0]!.choices[wf.docs[0]!.gold], 'The chemical symbol of hydrogen is H.');
  assert.equal(wf.docs[0]!.choices.length, 4);
  assert.ok(new Set(wf.docs.map((d) => d.gold)).size > 1, 'the gold answer is not always in the same place');
  assert.deepEqual(builtinDocs('world_facts', { dataDir }), wf);

  const defs = builtinDocs('gcide_definitions', { dataDir });
  const golds = defs.docs.map((d) => d.choices[d.gold]);
  // Antaphroditic's definition names it, and the second 'overuse' entry repeats a headword: both skipped.
  assert.deepEqual(golds, ['Octylene', 'Acceleratory', 'overuse', 'Countermark', 'Atheistic', 'Mizzle', 'Bedight', 'Quern', 'Tump']);
  const counter = defs.docs[3]!;
  assert.equal(counter.text, 'Definition: A mark added to those already existing on the goods.\nWord:');
  for (const d of defs.docs) {
    assert.equal(d.choices.length, 4);
    assert.equal(new Set(d.choices.map((c) => c.toLowerCase())).size, 4, 'distinct headwords');
  }

  const cloze = builtinDocs('general_cloze', { dataDir });
  const first = cloze.docs[0]!;
  assert.equal(first.text, 'Octylene (n.): Any one of a series of metameric hydrocarbons of the ethylene');
  assert.equal(first.choices[first.gold], 'series');
  assert.ok(cloze.docs.every((d) => d.choices.length === 4 && d.choices.every((c) => /^[a-z]{3,}$/.test(c))));
  assert.throws(
    () => builtinDocs('general_cloze', { dataDir: join(tmp, 'nowhere') }),
    /does not exist \(build the suites with `lethe data build all/,
  );
});

test('built-in tasks on a random fixture model: near chance, with mc_utility their harmonic mean', async () => {
  const model = loadModel(join(fixturesDir, 'llama-tiny'));
  try {
    const r = await evaluate({
      model,
      tokenizer: tokNoBos,
      tasks: 'world_facts,gcide_definitions,general_cloze',
      dataDir,
      cacheDir: null,
      log: quiet,
    });
    const names = ['world_facts', 'gcide_definitions', 'general_cloze'];
    for (const t of names) {
      const acc = r.summary[`mc_${t}_acc`]!;
      const res = r.results.get(`mc_${t}_acc`)!;
      assert.equal((res.extra as { chance: number }).chance, 0.25);
      assert.ok(acc >= 0 && acc <= 0.7, `${t}: a random model scores near chance (0.25), got ${acc}`);
      assert.ok(r.summary[`mc_${t}_acc_norm`]! >= 0);
    }
    const hm = names.length / names.reduce((s, t) => s + 1 / r.summary[`mc_${t}_acc`]!, 0);
    assert.ok(Math.abs(r.summary.mc_utility! - hm) < 1e-12);
    assert.deepEqual(
      Object.keys(r.summary).sort(),
      [...names.flatMap((t) => [`mc_${t}_acc`, `mc_${t}_acc_norm`]), 'mc_utility'].sort(),
      'only the multiple-choice metrics apply',
    );
  } finally {
    model.dispose();
  }
});

test('lethe eval --tasks NAME=generic:FILE --num-fewshot 1 writes mc_<name>_acc / _acc_norm with per-item values', () => {
  const dir = modelFolder('cli-model', 'llama-tiny', {}, requireFixture('tokenizer'));
  const out = join(tmp, 'cli-out');
  const r = runCli([
    'eval',
    '--model',
    dir,
    '--tasks',
    `cap=generic:${taskFile('generic')}`,
    '--num-fewshot',
    '1',
    '--out',
    out,
    '--no-cache',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const ev = JSON.parse(readFileSync(join(out, 'EVAL.json'), 'utf8')) as Record<string, EvalEntry & { items?: number }>;
  assert.equal(typeof ev.mc_cap_acc!.agg_value, 'number');
  const v = ev.mc_cap_acc_norm!.value_by_index!['0']!;
  assert.deepEqual(Object.keys(v).slice(0, 5), ['score', 'chosen', 'gold', 'loglikelihoods', 'normalized']);
  assert.equal(
    (ev._meta as unknown as { sets: Record<string, { description: string }> }).sets.mc_cap!.description.includes('1-shot'),
    true,
  );
  const badK = runCli(['eval', '--model', dir, '--tasks', 'world_facts', '--num-fewshot', 'two', '--out', out]);
  assert.notEqual(badK.status, 0);
  assert.match(badK.stderr, /eval: '--num-fewshot' must be a non-negative integer, got 'two'/);
});
