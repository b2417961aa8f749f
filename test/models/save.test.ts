import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel } from '../../src/index.js';
import { TOKENIZER_FILES } from '../../src/models/save.js';
import { requireFixture } from '../helpers/fixtures.js';
import { withTempDir } from '../helpers/tmp.js';

test("savePretrained shards above maxShardSize with HF's index; it loads back identically; stale weights go", () => {
  withTempDir('lethe-shard-', (dir) => {
    const model = loadModel(requireFixture('llama-tiny'));
    const out = join(dir, 'sharded');
    model.savePretrained(out, { maxShardSize: 100_000 });
    const files = readdirSync(out).sort();
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    assert.ok(shards.length >= 3, `shards: ${files.join(', ')}`);
    assert.ok(!files.includes('model.safetensors'));
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
    assert.deepEqual(Object.keys(index.weight_map).sort(), [...model.params.keys()].sort());
    const total = [...model.params.values()].reduce((s, t) => s + t.numel() * 4, 0);
    assert.equal(index.metadata.total_size, total);
    assert.ok(shards.every((f) => f.endsWith(`-of-${String(shards.length).padStart(5, '0')}.safetensors`)));
    const again = loadModel(out);
    const ids = torch.tensor([[1, 2, 3, 4]]);
    torch.tidy(() =>
      assert.equal(
        torch.noGrad(() => again.forward(ids).logits.sub(model.forward(ids).logits).abs().max().item()),
        0,
      ),
    );
    // Saving unsharded over it removes the old shards and the index.
    model.savePretrained(out);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.includes('safetensors')),
      ['model.safetensors'],
    );
    assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temporary folder left');
    for (const m of [model, again]) m.dispose();
    ids.dispose();
  });
});

test('savePretrained refuses the folder the model came from and copies tokenizer files', () => {
  withTempDir('lethe-save-', (dir) => {
    const model = loadModel(requireFixture('gpt2-tiny'));
    assert.throws(() => model.savePretrained(requireFixture('gpt2-tiny')), /never modifies an input model/);
    model.savePretrained(join(dir, 'copy'));
    const copy = loadModel(join(dir, 'copy'));
    copy.savePretrained(join(dir, 'copy2'));
    assert.ok(existsSync(join(dir, 'copy2', 'generation_config.json')));
    model.dispose();
    copy.dispose();
  });
});

test('savePretrained copies every tokenizer file the source folder has, byte for byte, and nothing else', () => {
  withTempDir('lethe-save-tok-', (dir) => {
    const src = join(dir, 'src');
    mkdirSync(src);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(src, f));
    copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(src, 'tokenizer.json'));
    const files: Record<string, string> = {
      'tokenizer_config.json': '{"eos_token": "<|endoftext|>", "model_max_length": 64}\n',
      'special_tokens_map.json': '{"eos_token": "<|endoftext|>"}\n',
      'vocab.json': '{"a": 0}\n',
      'merges.txt': '#version: 0.2\na b\n',
      'tokenizer.model': '\u0000sentencepiece\u0001',
      'added_tokens.json': '{"<x>": 512}\n',
      'chat_template.jinja': '{{ messages }}',
      'chat_template.json': '{"chat_template": "{{ x }}"}\n',
      'generation_config.json': '{"max_new_tokens": 7}\n',
      'notes.txt': 'not a tokenizer file\n',
      'training_args.bin': 'x',
    };
    for (const [f, content] of Object.entries(files)) writeFileSync(join(src, f), content);
    const model = loadModel(src);
    model.savePretrained(join(dir, 'out'));
    const copied = [...TOKENIZER_FILES];
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['config.json', 'model.safetensors', ...copied].sort());
    for (const f of copied) assert.deepEqual(readFileSync(join(dir, 'out', f)), readFileSync(join(src, f)), f);
    // TOKENIZER_FILES is what transformers' tokenizers and generation config read.
    assert.deepEqual([...TOKENIZER_FILES].sort(), [
      'added_tokens.json',
      'chat_template.jinja',
      'chat_template.json',
      'generation_config.json',
      'merges.txt',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer.model',
      'tokenizer_config.json',
      'vocab.json',
    ]);
    model.dispose();
  });
});
