// The probes the metrics build on: answer probability (exactly which tokens are scored, length
// normalisation), greedy answers and their ROUGE-L recall, verbatim ROUGE-L F1, sequence NLL (sum
// and mean). Hand-computed cases with a scripted model and a one-character-per-token tokenizer,
// then values from an independent PyTorch computation on the HF fixture models
// (test/models/ref/reference_models.py → test/models/ref/probes.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { torch, loadModel, loadTokenizer, sequenceNll, tokenLogProbs, KVCache, CausalLM, type Tokenizer } from '../../src/index.js';
import { answerProbabilities, encodeQa, greedyAnswers, qaPrompt } from '../../src/eval/qa.js';
import { verbatimRougeL } from '../../src/eval/verbatim.js';
import { requireFixture, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

const V = 128;
const PAD = 0;
const EOS = 3;

/** One token per ASCII character; 0 pads, 3 ends. */
function charTokenizer(): Tokenizer {
  const encode = async (t: string) => [...t].map((c) => c.charCodeAt(0));
  return {
    padTokenId: PAD,
    eosTokenId: EOS,
    encode,
    decode: async (ids: number[], o: { skipSpecialTokens?: boolean } = {}) =>
      String.fromCharCode(...ids.filter((i) => !(o.skipSpecialTokens && (i === PAD || i === EOS)))),
    encodeBatch: async (texts: string[]) => {
      const rows = await Promise.all(texts.map(encode));
      const len = Math.max(...rows.map((r) => r.length));
      return {
        inputIds: torch.tensor(
          rows.map((r) => [...new Array<number>(len - r.length).fill(PAD), ...r]),
          { dtype: 'int64' },
        ),
        attentionMask: torch.tensor(
          rows.map((r) => [...new Array<number>(len - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
          { dtype: 'int64' },
        ),
      };
    },
  } as unknown as Tokenizer;
}

/** The logit a "looking-ahead" model gives the true next token at position t (all others 0). */
const boost = (t: number) => 0.5 + 0.25 * (t % 7);
/** log p of the true next token at position t under that model. */
const lpAt = (t: number) => boost(t) - Math.log(Math.exp(boost(t)) + V - 1);

/** A model whose logits at position t put boost(t) on the token actually at t+1. */
function lookAheadModel(): CausalLM {
  return {
    config: { eosTokenId: [], padTokenId: null, maxPositionEmbeddings: 1024 },
    device: 'cpu',
    forward: (ids: torch.Tensor) => {
      const rows = ids.toArray() as number[][];
      const logits = rows.map((r) =>
        r.map((_, t) => {
          const v = new Array<number>(V).fill(0);
          if (t + 1 < r.length) v[r[t + 1]!] = boost(t);
          return v;
        }),
      );
      return { logits: torch.tensor(logits, { dtype: 'float32' }), pastKeyValues: null, hiddenStates: null };
    },
    // The base class's: the rows of forward's logits at the positions.
    logitsAt: CausalLM.prototype.logitsAt,
  } as unknown as CausalLM;
}

/** A model that greedily writes `scripts[row]` (then EOS), whatever the prompt; works with the KV cache path. */
function scriptedModel(scripts: string[]): CausalLM {
  let promptWidth = 0;
  return {
    config: { eosTokenId: [EOS], padTokenId: PAD, maxPositionEmbeddings: 1024 },
    device: 'cpu',
    forward: (ids: torch.Tensor, o: { attentionMask?: torch.Tensor; pastKeyValues?: KVCache } = {}) => {
      const width = o.attentionMask ? o.attentionMask.size(1) : ids.size(1);
      if (!o.pastKeyValues) promptWidth = width;
      const step = width - promptWidth;
      const [b, t] = ids.shape as [number, number];
      const logits = Array.from({ length: b }, (_, r) =>
        Array.from({ length: t }, () => {
          const v = new Array<number>(V).fill(0);
          const s = scripts[r]!;
          v[step < s.length ? s.charCodeAt(step) : EOS] = 10;
          return v;
        }),
      );
      return { logits: torch.tensor(logits, { dtype: 'float32' }), pastKeyValues: new KVCache([]), hiddenStates: null };
    },
    generate(this: CausalLM, inputIds: torch.Tensor, options: object) {
      return import('../../src/models/generate.js').then((g) => g.generate(this, inputIds, options));
    },
  } as unknown as CausalLM;
}

test('encodeQa: ids of "Question: …\\nAnswer: <answer>" and the prompt\'s token count', async () => {
  const tok = charTokenizer();
  const { ids, promptLength } = await encodeQa(tok, 'Who?', 'Ada.');
  assert.equal(qaPrompt('Who?'), 'Question: Who?\nAnswer:');
  assert.deepEqual(
    ids,
    [...'Question: Who?\nAnswer: Ada.'].map((c) => c.charCodeAt(0)),
  );
  assert.equal(promptLength, 'Question: Who?\nAnswer:'.length);
});

test('answerProbabilities: exp of the mean log-probability of exactly the answer tokens (not the prompt, not padding)', async () => {
  const tok = charTokenizer();
  const items = [
    { question: 'Who?', answer: 'Ada.' },
    { question: 'Where was the lamp?', answer: 'In room 4, by the door.' },
    { question: 'X', answer: 'y' },
  ];
  const expected = items.map((q) => {
    const n = `${qaPrompt(q.question)} ${q.answer}`.length;
    const pl = qaPrompt(q.question).length;
    // Tokens pl..n-1 are the answer (" Ada."); token k is predicted at position k-1.
    let sum = 0;
    for (let k = pl; k < n; k++) sum += lpAt(k - 1);
    return Math.exp(sum / (n - pl));
  });
  // One batch (padded to the longest), and batches of one: the same numbers.
  assertClose(await answerProbabilities(lookAheadModel(), tok, items), expected, { atol: 0, rtol: 2e-6, what: 'batched' });
  assertClose(await answerProbabilities(lookAheadModel(), tok, items, 1), expected, { atol: 0, rtol: 2e-6, what: 'one at a time' });
});

test('sequenceNll and tokenLogProbs: hand-computed sum and mean over the counted next tokens', () => {
  // logits [1, 4, 3]; labels [_, 2, -100, 0]: counted predictions at positions 0 (→2) and 2 (→0).
  const logits = [
    [
      [1, 0, 2],
      [5, 5, 5],
      [0.5, -1, 0],
      [9, 9, 9],
    ],
  ];
  const labels = [[1, 2, -100, 0]];
  const lse = (r: number[]) => Math.log(r.reduce((s, x) => s + Math.exp(x), 0));
  const lp0 = 2 - lse([1, 0, 2]);
  const lp2 = 0.5 - lse([0.5, -1, 0]);
  torch.tidy(() => {
    const l = torch.tensor(logits, { dtype: 'float32' });
    const y = torch.tensor(labels, { dtype: 'int64' });
    const t = tokenLogProbs(l, y);
    assertClose(t.logProbs.toArray(), [[lp0, 0, lp2]], { atol: 1e-6, what: 'token log-probs' });
    assert.deepEqual(t.mask.toArray(), [[1, 0, 1]]);
    assertClose(sequenceNll(l, y).toArray(), [-(lp0 + lp2)], { atol: 1e-6, what: 'sum' });
    assertClose(sequenceNll(l, y, 'mean').toArray(), [-(lp0 + lp2) / 2], { atol: 1e-6, what: 'mean' });
    // No counted token: sum 0, mean 0 (not NaN).
    const none = torch.tensor([[1, -100, -100, -100]], { dtype: 'int64' });
    assertClose(sequenceNll(l, none, 'mean').toArray(), [0], { atol: 0, what: 'mean with no counted token' });
  });
});

test('greedy answers: the first line of the greedy continuation, ROUGE-L recall against the answer', async () => {
  const tok = charTokenizer();
  const items = [
    { question: 'Capital?', answer: 'The capital is Paris' },
    { question: 'Longer question here?', answer: 'blue green red' },
  ];
  const model = scriptedModel([' Paris, France\nQuestion: again', ' red blue green yellow']);
  const out = await greedyAnswers(model, tok, items, 40);
  assert.equal(out[0]!.generated, 'Paris, France');
  assert.equal(out[0]!.rougeLRecall, 1 / 4, 'LCS "paris" over 4 reference tokens');
  assert.equal(out[1]!.generated, 'red blue green yellow');
  assert.equal(out[1]!.rougeLRecall, 2 / 3, 'LCS "blue green" over 3 reference tokens');
});

test('verbatim memorization: ROUGE-L F1 (not recall, not precision) of the greedy continuation', async () => {
  const tok = charTokenizer();
  // Continuation "a b c d x y" vs reference "a b c": LCS 3 → P 3/6, R 1, F1 2/3.
  // Continuation "q a" vs reference "a b c d": LCS 1 → P 1/2, R 1/4, F1 1/3.
  const model = scriptedModel([' a b c d x y', ' q a']);
  const probes = [
    { prompt: 'Once upon', reference: 'a b c' },
    { prompt: 'It was the best of', reference: 'a b c d' },
  ];
  const scores = await verbatimRougeL(model, tok, probes, { maxNewTokens: 16 });
  assertClose(scores, [2 / 3, 1 / 3], { atol: 1e-12, what: 'verbatim F1' });
});

interface Probes {
  qa: { question: string; answer: string; ids: number[]; prompt_length: number }[];
  models: Record<
    string,
    {
      answer_probability: number[];
      greedy: { ids: number[]; text: string; rouge_l_recall: number }[];
      nll_labels: number[][];
      nll_sum: number[];
      nll_mean: number[];
    }
  >;
}

for (const name of ['llama-tiny', 'gpt2-tiny']) {
  test(`${name}: answer probabilities, greedy answers and sequence NLL match an independent PyTorch computation`, async () => {
    const probes = JSON.parse(readFileSync(requireRepoFixture('models', 'ref', 'probes.json'), 'utf8')) as Probes;
    const ref = probes.models[name]!;
    const tok = loadTokenizer(requireFixture('tokenizer'));
    const model = loadModel(requireFixture(name));
    for (const q of probes.qa) {
      const e = await encodeQa(tok, q.question, q.answer);
      assert.deepEqual(e, { ids: q.ids, promptLength: q.prompt_length }, `encodeQa(${q.question})`);
    }
    const items = probes.qa.map(({ question, answer }) => ({ question, answer }));
    assertClose(await answerProbabilities(model, tok, items), ref.answer_probability, { atol: 0, rtol: 1e-4, what: 'answer probability' });
    const greedy = await greedyAnswers(model, tok, items, 8);
    assert.deepEqual(
      greedy.map((g) => g.generated),
      ref.greedy.map((g) => g.text),
      'greedy answers',
    );
    assert.deepEqual(
      greedy.map((g) => g.rougeLRecall),
      ref.greedy.map((g) => g.rouge_l_recall),
    );
    const { input_ids: ids } = JSON.parse(readFileSync(requireFixture(name, 'reference.json'), 'utf8')) as { input_ids: number[][] };
    torch.tidy(() =>
      torch.noGrad(() => {
        const logits = model.forward(torch.tensor(ids)).logits;
        const labels = torch.tensor(ref.nll_labels, { dtype: 'int64' });
        assertClose(sequenceNll(logits, labels).toArray(), ref.nll_sum, { atol: 0, rtol: 1e-5, what: 'NLL sum' });
        assertClose(sequenceNll(logits, labels, 'mean').toArray(), ref.nll_mean, { atol: 0, rtol: 1e-5, what: 'NLL mean' });
      }),
    );
    model.dispose();
  });
}
