// loadModel on folders that differ from a clean save_pretrained output: pickle checkpoints,
// broken or unsupported configs, weights that disagree with the config, sharded checkpoints
// (good and bad indexes), tied heads stored anyway, older RoPE config forms, llama3 RoPE
// scaling, bf16 storage. Every bad folder must give a clear LetheError (the right code) naming the
// thing and what was expected, free what it loaded, and no folder is ever written to by loading.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { torch, loadModel, readConfig, type CausalLM, type LoadModelOptions } from '../../src/index.js';
import { fixturesDir, requireFixture } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { withoutLeaks } from '../helpers/leaks.js';
import { LetheError, type LetheErrorCode } from '../../src/util/errors.js';

const tmp = tempDir('lethe-load-errors-');

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** sha256 of every file under `dir`, by relative path. */
function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

// The shared fixtures are only ever read: their hashes must be the same after every test here.
let fixtureHashes: Record<string, string>;
before(() => {
  fixtureHashes = treeHashes(requireFixture());
});
after(() => {
  assert.deepEqual(treeHashes(fixturesDir), fixtureHashes, 'the shared fixtures folder changed');
});

let dirCount = 0;
/** A fresh temp folder; a copy of fixture `name` when given. */
function scratch(name?: string): string {
  const dir = join(tmp, `${name ?? 'empty'}-${dirCount++}`);
  if (name) cpSync(requireFixture(name), dir, { recursive: true });
  else mkdirSync(dir);
  return dir;
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const path = join(dir, 'config.json');
  const c = readJson(path);
  edit(c);
  writeFileSync(path, JSON.stringify(c, null, 2));
}

/** Rewrites the folder's model.safetensors through `edit` (which may replace, add or delete tensors). */
function editWeights(dir: string, edit: (t: Record<string, torch.Tensor>) => void): void {
  const path = join(dir, 'model.safetensors');
  const { tensors, metadata } = torch.loadSafetensors(path);
  edit(tensors);
  torch.saveSafetensors(path, tensors, metadata);
  torch.dispose(tensors);
}

/** Loads, asserting the folder's files are byte-identical afterwards. */
function load(dir: string, options?: LoadModelOptions): CausalLM {
  const before = treeHashes(dir);
  const model = loadModel(dir, options);
  assert.deepEqual(treeHashes(dir), before, `loadModel modified ${dir}`);
  return model;
}

/** Asserts loadModel(dir) throws a LetheError with `code` (a job records its message; the server maps
 *  the code) matching every pattern, and frees whatever it loaded. */
function assertLoadFails(dir: string, code: LetheErrorCode, ...patterns: RegExp[]): void {
  const before = existsSync(dir) ? treeHashes(dir) : null;
  withoutLeaks(
    () =>
      assert.throws(
        () => loadModel(dir),
        (err: unknown) => {
          assert.ok(err instanceof LetheError, `expected a LetheError, got ${String(err)}`);
          assert.equal(err.code, code, err.message);
          for (const p of patterns) assert.match(err.message, p);
          return true;
        },
      ),
    'tensors left alive by a failed load',
  );
  if (before) assert.deepEqual(treeHashes(dir), before, `a failed loadModel modified ${dir}`);
  else assert.ok(!existsSync(dir), `a failed loadModel created ${dir}`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const inputIds = readJson(requireFixture('llama-tiny', 'reference.json')).input_ids as number[][];

/** Logits [2, 16, vocab] on the fixture's input ids, as a flat Float32Array (float32 whatever the model dtype). */
function logitsOf(model: CausalLM): Float32Array {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const ids = torch.tensor(inputIds, { dtype: 'int64', device: model.device as torch.Device });
      const out = model.forward(ids).logits;
      assert.deepEqual(out.shape, [2, 16, model.config.vocabSize]);
      return out.to({ dtype: 'float32', device: 'cpu' }).data() as Float32Array;
    }),
  );
}

/** Logits of the untouched fixture, loaded once. */
const fixtureLogitsCache = new Map<string, Float32Array>();
function fixtureLogits(name: string): Float32Array {
  let l = fixtureLogitsCache.get(name);
  if (!l) {
    const m = loadModel(requireFixture(name));
    l = logitsOf(m);
    m.dispose();
    fixtureLogitsCache.set(name, l);
  }
  return l;
}

// ---------------------------------------------------------------------------------------------
// Sanity: the fixtures load and agree with transformers' logits.
// ---------------------------------------------------------------------------------------------

test('the unaltered fixtures load and match the reference logits (baseline for the comparisons below)', () => {
  for (const name of ['llama-tiny', 'llama-tied-tiny', 'gpt2-tiny']) {
    const ref = torch.loadSafetensors(requireFixture(name, 'reference.safetensors'), { names: ['logits'] }).tensors.logits!;
    const diff = maxAbsDiff(fixtureLogits(name), ref.data() as Float32Array);
    ref.dispose();
    assert.ok(diff < 1e-4, `${name}: logits differ from transformers' by ${diff}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Weights files that are not safetensors
// ---------------------------------------------------------------------------------------------

test('a folder with only pytorch_model.bin is refused: pickle, and how to convert to safetensors', () => {
  const dir = scratch();
  cpSync(requireFixture('llama-tiny', 'config.json'), join(dir, 'config.json'));
  writeFileSync(join(dir, 'pytorch_model.bin'), Buffer.from('PK\x03\x04 not really a zip, never read'));
  assertLoadFails(
    dir,
    'BAD_CHECKPOINT',
    new RegExp(escapeRegex(dir)),
    /pytorch_model\.bin/,
    /pickle/,
    /never unpickles/,
    /safetensors/,
    /save_pretrained\(.*safe_serialization=True/,
  );

  const sharded = scratch();
  cpSync(requireFixture('llama-tiny', 'config.json'), join(sharded, 'config.json'));
  writeFileSync(join(sharded, 'pytorch_model.bin.index.json'), '{"weight_map": {}}');
  assertLoadFails(sharded, 'BAD_CHECKPOINT', /pytorch_model\.bin\.index\.json/, /pickle/, /safetensors/);
});

test('a folder with a config and no weights at all says which files it looked for', () => {
  const dir = scratch();
  cpSync(requireFixture('llama-tiny', 'config.json'), join(dir, 'config.json'));
  assertLoadFails(dir, 'NOT_FOUND', new RegExp(`${escapeRegex(dir)} has no model\\.safetensors or model\\.safetensors\\.index\\.json`));
  writeFileSync(join(dir, 'tf_model.h5'), 'x');
  assertLoadFails(dir, 'NOT_FOUND', /no model\.safetensors/, /only tf_model\.h5/);
});

test('a truncated or garbled model.safetensors is a bad checkpoint naming the file', () => {
  const short = scratch('llama-tiny');
  writeFileSync(join(short, 'model.safetensors'), Buffer.from([1, 2, 3, 4]));
  assertLoadFails(
    short,
    'BAD_CHECKPOINT',
    new RegExp(`safetensors file ${escapeRegex(join(short, 'model.safetensors'))}: is 4 bytes, too short`),
  );
  const garbled = scratch('llama-tiny');
  const header = Buffer.from('{"x": oops}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(garbled, 'model.safetensors'), Buffer.concat([len, header]));
  assertLoadFails(garbled, 'BAD_CHECKPOINT', /header is not valid JSON/);
});

test('an adapter folder with a broken adapter_config.json or a missing base model is refused with the file named', () => {
  const broken = scratch();
  writeFileSync(join(broken, 'adapter_config.json'), '{"peft_type": "LORA", ');
  assertLoadFails(broken, 'BAD_INPUT', new RegExp(`${escapeRegex(join(broken, 'adapter_config.json'))} is not valid JSON`));
  writeFileSync(join(broken, 'adapter_config.json'), '[]');
  assertLoadFails(broken, 'BAD_INPUT', /adapter_config\.json must hold a JSON object/);
  writeFileSync(join(broken, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: 'no-such-base' }));
  assertLoadFails(broken, 'NOT_FOUND', /its base model no-such-base is not a model folder here/);
});

// ---------------------------------------------------------------------------------------------
// config.json
// ---------------------------------------------------------------------------------------------

test('config.json missing, not JSON, not an object', () => {
  assertLoadFails(join(tmp, 'does-not-exist'), 'NOT_FOUND', /does-not-exist is not a folder/);

  const none = scratch('llama-tiny');
  rmSync(join(none, 'config.json'));
  assertLoadFails(none, 'NOT_FOUND', new RegExp(`${escapeRegex(none)} is not a Hugging Face model folder: it has no config\\.json`));

  const bad = scratch('llama-tiny');
  writeFileSync(join(bad, 'config.json'), '{"model_type": "llama", hidden_size: 64');
  assertLoadFails(bad, 'BAD_INPUT', new RegExp(`${escapeRegex(join(bad, 'config.json'))} is not valid JSON`));

  const array = scratch('llama-tiny');
  writeFileSync(join(array, 'config.json'), '[1, 2]');
  assertLoadFails(array, 'BAD_INPUT', /config\.json must hold a JSON object/);
});

test('an unsupported model_type names it and lists what is supported', () => {
  const dir = scratch('llama-tiny');
  editConfig(dir, (c) => {
    c.model_type = 'bert';
  });
  assertLoadFails(dir, 'BAD_INPUT', /config\.json: model_type 'bert' is not supported/, /supported: gpt2, llama/);

  const missing = scratch('llama-tiny');
  editConfig(missing, (c) => {
    delete c.model_type;
  });
  assertLoadFails(missing, 'BAD_INPUT', /model_type '' is not supported/);
});

test('a missing or non-numeric required config field is named, with what was expected', () => {
  const dir = scratch('llama-tiny');
  editConfig(dir, (c) => {
    delete c.hidden_size;
  });
  assertLoadFails(dir, 'BAD_INPUT', /config\.json: 'hidden_size' is missing \(expected a number\)/);

  const str = scratch('llama-tiny');
  editConfig(str, (c) => {
    c.num_hidden_layers = '2';
  });
  assertLoadFails(str, 'BAD_INPUT', /config\.json: 'num_hidden_layers' must be a number, got "2"/);

  const gpt2 = scratch('gpt2-tiny');
  editConfig(gpt2, (c) => {
    delete c.n_embd;
  });
  assertLoadFails(gpt2, 'BAD_INPUT', /config\.json: 'n_embd' is missing \(expected a number\)/);

  // An activation the model code lacks is a config error, found before any weight is read.
  const act = scratch('llama-tiny');
  editConfig(act, (c) => {
    c.hidden_act = 'relu2';
  });
  assertLoadFails(act, 'BAD_INPUT', new RegExp(`${escapeRegex(join(act, 'config.json'))}: activation 'relu2' is not supported`));

  const heads = scratch('llama-tiny');
  editConfig(heads, (c) => {
    c.num_key_value_heads = 3;
  });
  assertLoadFails(heads, 'BAD_INPUT', /4 attention heads are not a multiple of 3 key\/value heads/);
});

// ---------------------------------------------------------------------------------------------
// Weights that disagree with the config
// ---------------------------------------------------------------------------------------------

test('a weight whose shape disagrees with the config names the tensor and both shapes', () => {
  const dir = scratch('llama-tiny');
  const name = 'model.layers.1.mlp.up_proj.weight';
  editWeights(dir, (t) => {
    t[name]!.dispose();
    t[name] = torch.zeros([96, 64]);
  });
  assertLoadFails(
    dir,
    'BAD_CHECKPOINT',
    /the weights do not match config\.json \(llama\)/,
    new RegExp(`tensor '${escapeRegex(name)}' has shape \\[96,64\\] but the config implies \\[128,64\\]`),
  );

  // The config is the other side of the disagreement: a wrong intermediate_size names every MLP weight.
  const cfg = scratch('llama-tiny');
  editConfig(cfg, (c) => {
    c.intermediate_size = 100;
  });
  assertLoadFails(
    cfg,
    'BAD_CHECKPOINT',
    /tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[128,64\] but the config implies \[100,64\]/,
    /tensor 'model\.layers\.1\.mlp\.down_proj\.weight' has shape \[64,128\] but the config implies \[64,100\]/,
  );

  const gpt2 = scratch('gpt2-tiny');
  editWeights(gpt2, (t) => {
    t['transformer.wpe.weight']!.dispose();
    t['transformer.wpe.weight'] = torch.zeros([32, 64]);
  });
  assertLoadFails(
    gpt2,
    'BAD_CHECKPOINT',
    /\(gpt2\)/,
    /tensor 'transformer\.wpe\.weight' has shape \[32,64\] but the config implies \[64,64\]/,
  );
});

test('a missing tensor and an unexpected extra tensor are named', () => {
  const missing = scratch('llama-tiny');
  editWeights(missing, (t) => {
    t['model.norm.weight']!.dispose();
    delete t['model.norm.weight'];
  });
  assertLoadFails(missing, 'BAD_CHECKPOINT', /missing tensors: model\.norm\.weight/);

  const extra = scratch('llama-tiny');
  editWeights(extra, (t) => {
    t['model.layers.0.self_attn.q_norm.weight'] = torch.ones([16]);
  });
  assertLoadFails(extra, 'BAD_CHECKPOINT', /unexpected tensors: model\.layers\.0\.self_attn\.q_norm\.weight/);

  // An untied config with no lm_head in the file (e.g. tie_word_embeddings flipped): lm_head is missing.
  const untied = scratch('llama-tied-tiny');
  editConfig(untied, (c) => {
    c.tie_word_embeddings = false;
  });
  assertLoadFails(untied, 'BAD_CHECKPOINT', /missing tensors: lm_head\.weight/);
});

test('buffers that checkpoints carry and the model recomputes are ignored (rotary inv_freq, GPT-2 attn.bias)', () => {
  const dir = scratch('llama-tiny');
  editWeights(dir, (t) => {
    t['model.layers.0.self_attn.rotary_emb.inv_freq'] = torch.ones([8]);
  });
  const model = load(dir);
  assert.ok(!model.params.has('model.layers.0.self_attn.rotary_emb.inv_freq'));
  assert.equal(maxAbsDiff(logitsOf(model), fixtureLogits('llama-tiny')), 0);
  model.dispose();

  // The original GPT-2 checkpoints: no `transformer.` prefix, causal-mask buffers stored.
  const gpt2 = scratch('gpt2-tiny');
  editWeights(gpt2, (t) => {
    for (const k of Object.keys(t)) {
      t[k.replace(/^transformer\./, '')] = t[k]!;
      delete t[k];
    }
    t['h.0.attn.bias'] = torch.ones([1, 1, 64, 64]);
  });
  const g = load(gpt2);
  assert.ok(g.params.has('transformer.wte.weight'));
  assert.equal(maxAbsDiff(logitsOf(g), fixtureLogits('gpt2-tiny')), 0);
  g.dispose();
});

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints
// ---------------------------------------------------------------------------------------------

/** llama-tiny's weights split into two shards + an HF index; returns the folder and the index. */
function shardedLlama(): { dir: string; index: { metadata: { total_size: number }; weight_map: Record<string, string> } } {
  const dir = scratch('llama-tiny');
  const { tensors } = torch.loadSafetensors(join(dir, 'model.safetensors'));
  const names = Object.keys(tensors).sort();
  const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  let total = 0;
  files.forEach((file, k) => {
    const part: Record<string, torch.Tensor> = {};
    for (const n of names.slice(k * half, (k + 1) * half)) {
      part[n] = tensors[n]!;
      weightMap[n] = file;
      total += tensors[n]!.numel() * 4;
    }
    torch.saveSafetensors(join(dir, file), part, { format: 'pt' });
  });
  torch.dispose(tensors);
  rmSync(join(dir, 'model.safetensors'));
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2));
  return { dir, index };
}

test('a sharded checkpoint (2 shards + model.safetensors.index.json) loads with identical logits', () => {
  const { dir, index } = shardedLlama();
  assert.equal(new Set(Object.values(index.weight_map)).size, 2);
  const model = load(dir);
  assert.equal(model.params.size, Object.keys(index.weight_map).length);
  assert.equal(maxAbsDiff(logitsOf(model), fixtureLogits('llama-tiny')), 0);
  model.dispose();
});

test('bad shard indexes: a missing shard, a path outside the folder, a name the shard lacks, bad JSON', () => {
  const { dir, index } = shardedLlama();
  const indexPath = join(dir, 'model.safetensors.index.json');
  const writeIndex = (weightMap: Record<string, string>): void => {
    writeFileSync(indexPath, JSON.stringify({ ...index, weight_map: weightMap }));
  };

  writeIndex({ ...index.weight_map, 'model.norm.weight': 'model-00003-of-00003.safetensors' });
  assertLoadFails(dir, 'NOT_FOUND', /model\.safetensors\.index\.json lists model-00003-of-00003\.safetensors, which is not a file in/);
  // A name that is a folder, not a shard file.
  mkdirSync(join(dir, 'shards'));
  writeIndex({ ...index.weight_map, 'model.norm.weight': 'shards' });
  assertLoadFails(dir, 'NOT_FOUND', /lists shards, which is not a file in/);

  // A file outside the folder exists, so only the path check stands between the index and it.
  cpSync(join(dir, 'model-00001-of-00002.safetensors'), join(tmp, 'x.safetensors'));
  writeIndex({ ...index.weight_map, 'model.norm.weight': '../x.safetensors' });
  assertLoadFails(
    dir,
    'BAD_CHECKPOINT',
    /weight_map\['model\.norm\.weight'\] must be a file name in the folder, got "\.\.\/x\.safetensors"/,
  );
  writeIndex({ ...index.weight_map, 'model.norm.weight': join(tmp, 'x.safetensors') });
  assertLoadFails(dir, 'BAD_CHECKPOINT', /weight_map\['model\.norm\.weight'\] must be a file name in the folder/);
  writeIndex({ ...index.weight_map, 'model.norm.weight': '..\\x.safetensors' });
  assertLoadFails(dir, 'BAD_CHECKPOINT', /must be a file name in the folder/);
  for (const bad of ['..', '.', '']) {
    writeIndex({ ...index.weight_map, 'model.norm.weight': bad });
    assertLoadFails(dir, 'BAD_CHECKPOINT', /must be a file name in the folder/);
  }

  // The index says a shard holds a tensor it does not.
  const other =
    index.weight_map['model.norm.weight'] === 'model-00001-of-00002.safetensors'
      ? 'model-00002-of-00002.safetensors'
      : 'model-00001-of-00002.safetensors';
  writeIndex({ ...index.weight_map, 'model.norm.weight': other });
  assertLoadFails(dir, 'BAD_CHECKPOINT', new RegExp(`${escapeRegex(other)}: has no tensor 'model\\.norm\\.weight'`));

  writeFileSync(indexPath, '{"weight_map": ');
  assertLoadFails(dir, 'BAD_CHECKPOINT', /model\.safetensors\.index\.json is not valid JSON/);
  writeFileSync(indexPath, '{"metadata": {}}');
  assertLoadFails(dir, 'BAD_CHECKPOINT', /model\.safetensors\.index\.json has no weight_map object/);
});

// ---------------------------------------------------------------------------------------------
// Tied heads, older and scaled RoPE configs
// ---------------------------------------------------------------------------------------------

test('a tied model whose file also holds lm_head.weight loads, the head tied to the embedding', () => {
  const dir = scratch('llama-tied-tiny');
  editWeights(dir, (t) => {
    t['lm_head.weight'] = torch.randn([512, 96]);
  });
  const model = load(dir);
  assert.equal(model.config.tieWordEmbeddings, true);
  assert.ok(!model.params.has('lm_head.weight'), 'the stored head is dropped');
  assert.equal(maxAbsDiff(logitsOf(model), fixtureLogits('llama-tied-tiny')), 0);
  model.dispose();
});

test('rope_theta at the top level (older configs) and head_dim absent give the fixture logits', () => {
  const old = scratch('llama-tiny');
  editConfig(old, (c) => {
    delete c.rope_parameters;
    c.rope_theta = 10000.0;
    c.rope_scaling = null;
    delete c.head_dim;
  });
  const cfg = readConfig(old);
  assert.equal(cfg.ropeTheta, 10000);
  assert.equal(cfg.headDim, 16, 'head_dim absent: hidden_size / num_attention_heads');
  assert.deepEqual(cfg.ropeScaling, { type: 'default', factor: 1 });
  const model = load(old);
  assert.equal(maxAbsDiff(logitsOf(model), fixtureLogits('llama-tiny')), 0);
  model.dispose();

  // The tied fixture's theta (50000) read from the top level too.
  const tied = scratch('llama-tied-tiny');
  editConfig(tied, (c) => {
    delete c.rope_parameters;
    c.rope_theta = 50000.0;
  });
  const t = load(tied);
  assert.equal(t.config.ropeTheta, 50000);
  assert.equal(maxAbsDiff(logitsOf(t), fixtureLogits('llama-tied-tiny')), 0);
  t.dispose();

  // No theta anywhere: HF's default, 10000 (the llama-tiny value).
  const none = scratch('llama-tiny');
  editConfig(none, (c) => {
    delete c.rope_parameters;
  });
  assert.equal(readConfig(none).ropeTheta, 10000);
});

const LLAMA3 = { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };

test('llama3 RoPE scaling loads (older rope_scaling and newer rope_parameters forms) and changes the logits', () => {
  const old = scratch('llama-tiny');
  editConfig(old, (c) => {
    delete c.rope_parameters;
    c.rope_theta = 10000.0;
    c.rope_scaling = { rope_type: 'llama3', ...LLAMA3 };
  });
  assert.deepEqual(readConfig(old).ropeScaling, {
    type: 'llama3',
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositionEmbeddings: 8192,
  });
  const a = load(old);
  const la = logitsOf(a);
  a.dispose();
  // headDim 16, theta 1e4: the two lowest frequencies have wavelengths ~6283 (smoothed) and ~19869
  // (> 8192, divided by 8), so positions 1..15 rotate differently from default RoPE.
  const diff = maxAbsDiff(la, fixtureLogits('llama-tiny'));
  assert.ok(diff > 1e-4, `llama3 scaling changed the logits by only ${diff}`);
  assert.ok(diff < 10, `llama3 scaling changed the logits by ${diff}`);

  const nu = scratch('llama-tiny');
  editConfig(nu, (c) => {
    c.rope_parameters = { rope_theta: 10000.0, rope_type: 'llama3', ...LLAMA3 };
  });
  const b = load(nu);
  assert.equal(maxAbsDiff(logitsOf(b), la), 0, 'both config forms give the same model');
  b.dispose();

  // The oldest spelling: {type: ...}.
  const typed = scratch('llama-tiny');
  editConfig(typed, (c) => {
    delete c.rope_parameters;
    c.rope_scaling = { type: 'llama3', ...LLAMA3 };
  });
  assert.equal(readConfig(typed).ropeScaling.type, 'llama3');
});

test('an unknown RoPE type or an incomplete llama3 scaling is refused with a clear message', () => {
  const yarn = scratch('llama-tiny');
  editConfig(yarn, (c) => {
    c.rope_parameters = { rope_theta: 10000.0, rope_type: 'yarn', factor: 4.0 };
  });
  assertLoadFails(yarn, 'BAD_INPUT', /config\.json: RoPE scaling type 'yarn' is not supported \(supported: default, linear, llama3\)/);

  const made = scratch('llama-tiny');
  editConfig(made, (c) => {
    delete c.rope_parameters;
    c.rope_scaling = { type: 'wobbly', factor: 2 };
  });
  assertLoadFails(made, 'BAD_INPUT', /RoPE scaling type 'wobbly' is not supported/);

  const incomplete = scratch('llama-tiny');
  editConfig(incomplete, (c) => {
    c.rope_parameters = { rope_theta: 10000.0, rope_type: 'llama3', factor: 8.0 };
  });
  assertLoadFails(incomplete, 'BAD_INPUT', /rope scaling: 'low_freq_factor' is missing \(expected a number\)/);
});

// ---------------------------------------------------------------------------------------------
// The input folder is never modified
// ---------------------------------------------------------------------------------------------

test('loading never modifies the input folder (sha256 of every file before and after)', () => {
  const dir = scratch('llama-tiny');
  const before = treeHashes(dir);
  assert.deepEqual(
    before,
    Object.fromEntries(
      Object.entries(fixtureHashes)
        .filter(([k]) => k.startsWith('llama-tiny/'))
        .map(([k, v]) => [k.slice('llama-tiny/'.length), v]),
    ),
  );
  const names = readdirSync(dir).sort();
  const m1 = loadModel(dir);
  const m2 = loadModel(dir, { dtype: 'bfloat16' });
  const m3 = loadModel(dir, { dtype: 'float64' });
  readConfig(dir);
  assert.equal(maxAbsDiff(logitsOf(m1), fixtureLogits('llama-tiny')), 0);
  for (const m of [m1, m2, m3]) m.dispose();
  assert.deepEqual(readdirSync(dir).sort(), names, 'no file was added or removed');
  assert.deepEqual(treeHashes(dir), before);
});

// ---------------------------------------------------------------------------------------------
// bf16 storage
// ---------------------------------------------------------------------------------------------

test('bf16 weights: float32 on the CPU by default, bfloat16 when asked; logits close to the fp32 fixture', () => {
  const dir = scratch();
  cpSync(requireFixture('llama-tiny', 'config.json'), join(dir, 'config.json'));
  const { tensors } = torch.loadSafetensors(requireFixture('llama-tiny', 'model.safetensors'));
  const bf16: Record<string, torch.Tensor> = {};
  for (const [k, t] of Object.entries(tensors)) bf16[k] = t.to('bfloat16');
  torch.saveSafetensors(join(dir, 'model.safetensors'), bf16, { format: 'pt' });
  const header = torch.readSafetensorsHeader(join(dir, 'model.safetensors'));
  assert.ok(header.entries.every((e) => e.dtype === 'bfloat16'));

  const f32 = load(dir);
  assert.equal(f32.dtype, 'float32');
  assert.equal(f32.device, 'cpu');
  for (const [name, p] of f32.params) {
    assert.equal(p.dtype, 'float32', name);
    assert.equal(p.requiresGrad, true, name);
  }
  // Upcasting bf16 is exact: the parameters are the bf16 values.
  const q = 'model.layers.0.self_attn.q_proj.weight';
  const exact = bf16[q]!.to('float32');
  assert.equal(maxAbsDiff(f32.params.get(q)!.data() as Float32Array, exact.data() as Float32Array), 0);
  exact.dispose();
  const l32 = logitsOf(f32);
  const diff = maxAbsDiff(l32, fixtureLogits('llama-tiny'));
  assert.ok(diff > 0 && diff < 0.05, `bf16-stored logits differ from the fp32 fixture's by ${diff}`);
  f32.dispose();

  const kept = load(dir, { dtype: 'bfloat16' });
  assert.equal(kept.dtype, 'bfloat16');
  for (const [name, p] of kept.params) assert.equal(p.dtype, 'bfloat16', name);
  const lbf = logitsOf(kept);
  assert.ok(maxAbsDiff(lbf, l32) < 0.15, `bf16 compute differs from fp32 compute on the same weights by ${maxAbsDiff(lbf, l32)}`);
  kept.dispose();

  torch.dispose(tensors);
  torch.dispose(bf16);
});
