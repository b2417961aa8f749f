import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { torch, loadModel } from '../../src/index.js';
import { fixturesDir } from '../helpers.js';

test('savePretrained shards above maxShardSize with HF\'s index; it loads back identically; stale weights go', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-shard-'));
  try {
    const model = loadModel(join(fixturesDir, 'llama-tiny'));
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
    torch.tidy(() => assert.equal(torch.noGrad(() => again.forward(ids).logits.sub(model.forward(ids).logits).abs().max().item()), 0));
    // Saving unsharded over it removes the old shards and the index.
    model.savePretrained(out);
    assert.deepEqual(readdirSync(out).filter((f) => f.includes('safetensors')), ['model.safetensors']);
    assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temporary folder left');
    for (const m of [model, again]) m.dispose();
    ids.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('savePretrained refuses the folder the model came from and copies tokenizer files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-save-'));
  try {
    const model = loadModel(join(fixturesDir, 'gpt2-tiny'));
    assert.throws(() => model.savePretrained(join(fixturesDir, 'gpt2-tiny')), /never modifies an input model/);
    model.savePretrained(join(dir, 'copy'));
    const copy = loadModel(join(dir, 'copy'));
    copy.savePretrained(join(dir, 'copy2'));
    assert.ok(existsSync(join(dir, 'copy2', 'generation_config.json')));
    model.dispose();
    copy.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
