import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, loadModel } from '../../src/index.js';
import { requireFixture } from '../helpers/fixtures.js';

const rows = (t: torch.Tensor) => t.toArray() as number[][];

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  test(`${name}: KV-cached generation gives the same tokens as uncached`, async () => {
    const model = loadModel(requireFixture(name));
    const prompt = torch.tensor([
      [5, 17, 300, 42, 7, 99],
      [11, 12, 13, 14, 15, 16],
    ]);
    const cached = await model.generate(prompt, { maxNewTokens: 24, eosTokenId: [] });
    const plain = await model.generate(prompt, { maxNewTokens: 24, eosTokenId: [], useCache: false });
    assert.deepEqual(rows(cached), rows(plain));
    assert.deepEqual(cached.shape, [2, 30]);
    model.dispose();
  });

  test(`${name}: a left-padded batch gives each row what it gives alone`, async () => {
    const model = loadModel(requireFixture(name));
    const short = [7, 8, 9];
    const long = [100, 101, 102, 103, 104, 105];
    const batch = torch.tensor([[0, 0, 0, ...short], long]);
    const mask = torch.tensor([
      [0, 0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1, 1],
    ]);
    const together = rows(await model.generate(batch, { attentionMask: mask, maxNewTokens: 10, eosTokenId: [] }));
    const alone0 = rows(await model.generate(torch.tensor([short]), { maxNewTokens: 10, eosTokenId: [] }))[0]!;
    const alone1 = rows(await model.generate(torch.tensor([long]), { maxNewTokens: 10, eosTokenId: [] }))[0]!;
    assert.deepEqual(together[0]!.slice(6), alone0.slice(3));
    assert.deepEqual(together[1]!.slice(6), alone1.slice(6));
    model.dispose();
  });
}

test('EOS stops a row and pads it; stop strings stop on decoded text', async () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const prompt = torch.tensor([[37, 235, 396, 72, 255]]);
  const free = rows(await model.generate(prompt, { maxNewTokens: 8, eosTokenId: [] }))[0]!;
  const third = free[5 + 2]!;
  const stopped = rows(await model.generate(prompt, { maxNewTokens: 8, eosTokenId: third, padTokenId: 0 }))[0]!;
  assert.deepEqual(stopped, free.slice(0, 8), 'generation ends at the EOS token (a single row: no padding needed)');
  const batch = torch.tensor([
    [37, 235, 396, 72, 255],
    [1, 2, 3, 4, 5],
  ]);
  const both = rows(await model.generate(batch, { maxNewTokens: 8, eosTokenId: third, padTokenId: 0 }));
  const firstEos = both[0]!.indexOf(third, 5);
  assert.ok(firstEos >= 5 && firstEos <= 7, 'row 0 still stops at the EOS token');
  assert.ok(
    both[0]!.slice(firstEos + 1).every((t) => t === 0),
    'then is padded',
  );
  const decode = (ids: number[]) => ids.join(',') + ',';
  const byString = rows(
    await model.generate(prompt, { maxNewTokens: 8, eosTokenId: [], stopStrings: [`${free[6]},${third},`], decode }),
  )[0]!;
  assert.deepEqual(byString, free.slice(0, 8));
  await assert.rejects(model.generate(prompt, { stopStrings: ['x'] }), /decode/);
  model.dispose();
});

test('sampling: seeded runs repeat; top-k 1 and a tiny top-p are greedy; bad options are rejected', async () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const prompt = torch.tensor([[37, 235, 396]]);
  const greedy = rows(await model.generate(prompt, { maxNewTokens: 10, eosTokenId: [] }));
  torch.manualSeed(3);
  const s1 = rows(await model.generate(prompt, { maxNewTokens: 10, eosTokenId: [], doSample: true, temperature: 1.5 }));
  torch.manualSeed(3);
  const s2 = rows(await model.generate(prompt, { maxNewTokens: 10, eosTokenId: [], doSample: true, temperature: 1.5 }));
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, greedy, 'sampling at temperature 1.5 from a random model departs from greedy');
  assert.deepEqual(rows(await model.generate(prompt, { maxNewTokens: 10, eosTokenId: [], doSample: true, topK: 1 })), greedy);
  assert.deepEqual(rows(await model.generate(prompt, { maxNewTokens: 10, eosTokenId: [], doSample: true, topP: 1e-6 })), greedy);
  await assert.rejects(model.generate(prompt, { doSample: true, temperature: 0 }), /temperature must be > 0/);
  await assert.rejects(model.generate(prompt, { maxNewTokens: -1 }), /maxNewTokens/);
  model.dispose();
});

test('generation leaks no tensors', async () => {
  const model = loadModel(requireFixture('gpt2-tiny'));
  const prompt = torch.tensor([[1, 2, 3]]);
  const base = torch.liveTensors();
  const out = await model.generate(prompt, { maxNewTokens: 12, eosTokenId: [] });
  assert.equal(torch.liveTensors(), base + 1, 'only the output');
  out.dispose();
  model.dispose();
});

test('forward: hidden states follow HF (embeddings, each layer, the last one normed); a KV cache continues the sequence', () => {
  const model = loadModel(requireFixture('llama-tiny'));
  const ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]]);
  torch.tidy(() =>
    torch.noGrad(() => {
      const out = model.forward(ids, { outputHiddenStates: true });
      assert.equal(out.hiddenStates!.length, model.config.numLayers + 1);
      const emb = torch.embedding(ids, model.params.get('model.embed_tokens.weight')!);
      assert.equal(out.hiddenStates![0]!.sub(emb).abs().max().item(), 0);
      const head = torch.linear(out.hiddenStates!.at(-1)!, model.params.get('lm_head.weight')!);
      assert.ok(head.sub(out.logits).abs().max().item() < 1e-5);
      const first = model.forward(ids.narrow(1, 0, 5), { useCache: true });
      assert.equal(first.pastKeyValues!.length, 5);
      const rest = model.forward(ids.narrow(1, 5, 3), { pastKeyValues: first.pastKeyValues!, useCache: true });
      assert.equal(rest.pastKeyValues!.length, 8);
      assert.ok(
        rest.logits
          .sub(out.logits.narrow(1, 5, 3))
          .abs()
          .max()
          .item() < 1e-5,
      );
    }),
  );
  assert.throws(() => model.forward(ids, { attentionMask: torch.ones([1, 3]) }), /attentionMask must have shape \[1, 8\]/);
  assert.throws(() => model.forward(torch.tensor([1, 2])), /inputIds must be \[batch, seq\]/);
  model.dispose();
});
