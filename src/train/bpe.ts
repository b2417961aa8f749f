// A byte-level BPE tokenizer trained with Hugging Face's `tokenizers`. Its Node binding trains
// only with default options (30k vocabulary, no byte alphabet, no decoder), so we take the
// merges it learned, in rank order, and write the tokenizer.json GPT-2 style models use:
// special tokens, the full 256-symbol byte alphabet, then the first merges up to vocabSize.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { LetheError } from '../util/errors.js';

const requireHere = createRequire(import.meta.url);
const tk = requireHere('tokenizers') as typeof import('tokenizers');
const requireTokenizers = requireHere.resolve('tokenizers');

export interface BpeOptions {
  vocabSize: number;
  /** Special tokens, given the first ids in this order (default: <|endoftext|>). */
  specialTokens?: string[];
}

type Merge = [string, string];

/** Trains on `texts` and writes tokenizer.json and tokenizer_config.json into `outDir`. */
export function trainBpeTokenizer(texts: string[], outDir: string, options: BpeOptions): { vocabSize: number; merges: number } {
  const specials = options.specialTokens ?? ['<|endoftext|>'];
  const alphabet = tk.byteLevelAlphabet().sort();
  if (options.vocabSize < specials.length + alphabet.length + 1) {
    throw new LetheError(
      'BAD_INPUT',
      `vocabSize must exceed ${specials.length + alphabet.length} (special tokens + 256 byte symbols), got ${options.vocabSize}`,
    );
  }
  const work = mkdtempSync(join(tmpdir(), 'lethe-bpe-'));
  let trained: { model: { merges: (Merge | string)[] } };
  try {
    const corpus = join(work, 'corpus.txt');
    writeFileSync(corpus, texts.join('\n'));
    // The Rust trainer writes progress lines straight to stdout; a child process keeps them out of ours.
    const script = `const tk = require(${JSON.stringify(requireTokenizers)}); const t = new tk.Tokenizer(tk.BPE.empty());
      t.setPreTokenizer(tk.byteLevelPreTokenizer(false, true)); t.train([process.argv[1]]); t.save(process.argv[2]);`;
    const r = spawnSync(process.execPath, ['-e', script, corpus, join(work, 'trained.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`BPE training failed: ${r.stderr || r.error?.message}`);
    trained = JSON.parse(readFileSync(join(work, 'trained.json'), 'utf8'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const vocab: Record<string, number> = {};
  for (const s of [...specials, ...alphabet]) vocab[s] = Object.keys(vocab).length;
  const merges: Merge[] = [];
  for (const m of trained.model.merges) {
    if (Object.keys(vocab).length >= options.vocabSize) break;
    const [a, b] = (typeof m === 'string' ? m.split(' ') : m) as Merge;
    if (!(a in vocab) || !(b in vocab) || a + b in vocab) continue;
    vocab[a + b] = Object.keys(vocab).length;
    merges.push([a, b]);
  }
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(json));
  const eos = specials[0]!;
  writeFileSync(
    join(outDir, 'tokenizer_config.json'),
    JSON.stringify(
      {
        tokenizer_class: 'PreTrainedTokenizerFast',
        bos_token: eos,
        eos_token: eos,
        unk_token: null,
        pad_token: eos,
        model_max_length: 1000000,
        padding_side: 'left',
        clean_up_tokenization_spaces: false,
      },
      null,
      2,
    ) + '\n',
  );
  return { vocabSize: Object.keys(vocab).length, merges: merges.length };
}
