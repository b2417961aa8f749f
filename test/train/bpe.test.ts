import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainBpeTokenizer } from '../../src/train/bpe.js';
import { loadTokenizer } from '../../src/index.js';
import { withTempDir } from '../helpers/tmp.js';

const corpus = Array.from({ length: 400 }, (_, i) => `Record ${i}: the archivist filed letter number ${i * 7} under "correspondence".`);

test('BPE training with HF tokenizers: deterministic, byte-level complete, round-trips any text', async () => {
  await withTempDir('lethe-bpe-', async (dir) => {
    const a = trainBpeTokenizer(corpus, join(dir, 'a'), { vocabSize: 400 });
    trainBpeTokenizer(corpus, join(dir, 'b'), { vocabSize: 400 });
    assert.equal(a.vocabSize, 400);
    assert.equal(readFileSync(join(dir, 'a', 'tokenizer.json'), 'utf8'), readFileSync(join(dir, 'b', 'tokenizer.json'), 'utf8'));
    const tok = loadTokenizer(join(dir, 'a'));
    assert.equal(tok.vocabSize, 400);
    assert.equal(tok.tokenToId('<|endoftext|>'), 0);
    assert.equal(tok.eosTokenId, 0);
    for (const text of ['Record 12: the archivist', 'Ωmega ☃ unseen bytes\t\n', '  leading spaces']) {
      const ids = await tok.encode(text);
      assert.equal(await tok.decode(ids), text, `round trip of ${JSON.stringify(text)}`);
    }
    const merged = await tok.encode('the archivist filed letter');
    assert.ok(merged.length < 'the archivist filed letter'.length / 2, `frequent words are merged (${merged.length} tokens)`);
    assert.throws(() => trainBpeTokenizer(corpus, join(dir, 'c'), { vocabSize: 100 }), /vocabSize must exceed 257/);
  });
});
