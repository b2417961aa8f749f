// Tokenizers through Hugging Face's own Rust library (the `tokenizers` npm package), with the
// special tokens of tokenizer_config.json / special_tokens_map.json and the chat template
// rendered by @huggingface/jinja.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Template } from '@huggingface/jinja';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { LetheError } from '../util/errors.js';
import { readJsonFile } from '../util/json-file.js';

type HfTokenizer = import('tokenizers').Tokenizer;
const { Tokenizer: RustTokenizer } = createRequire(import.meta.url)('tokenizers') as typeof import('tokenizers');

export interface ChatMessage {
  role: string;
  content: string;
}

export interface BatchEncoding {
  inputIds: Tensor;
  attentionMask: Tensor;
}

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** tokenizer_config.json's chat_template: a string, or (HF's named-template form) [{name, template}], of which 'default' is used. */
function inlineTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => t && typeof t === 'object' && (t as { name?: unknown }).name === 'default') as
      | { template?: unknown }
      | undefined;
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

function readJson(path: string): Record<string, unknown> {
  return existsSync(path) ? (readJsonFile(path) as Record<string, unknown>) : {};
}

export class Tokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  readonly unkToken: string | null;
  readonly chatTemplate: string | null;
  /** Left-pad batches by default (what decoder-only generation needs). */
  paddingSide: 'left' | 'right';

  private constructor(
    private readonly inner: HfTokenizer,
    config: Record<string, unknown>,
    chatTemplate: string | null,
  ) {
    this.bosToken = tokenContent(config.bos_token);
    this.eosToken = tokenContent(config.eos_token);
    this.padToken = tokenContent(config.pad_token);
    this.unkToken = tokenContent(config.unk_token);
    this.chatTemplate = chatTemplate;
    this.paddingSide = config.padding_side === 'right' ? 'right' : 'left';
  }

  /** Loads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json, chat_template.jinja) from a folder. */
  static fromDir(dir: string): Tokenizer {
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) {
      const legacy = ['vocab.json', 'tokenizer.model'].find((f) => existsSync(join(dir, f)));
      throw new LetheError(
        'NOT_FOUND',
        `${dir} has no tokenizer.json${legacy ? ` (only ${legacy}: re-save the tokenizer with a fast tokenizer to get tokenizer.json)` : ''}`,
      );
    }
    let inner: HfTokenizer;
    try {
      inner = RustTokenizer.fromFile(file);
    } catch (err) {
      throw new LetheError('BAD_INPUT', `${file} could not be read as a Hugging Face tokenizer: ${(err as Error).message}`);
    }
    const config = { ...readJson(join(dir, 'special_tokens_map.json')), ...readJson(join(dir, 'tokenizer_config.json')) };
    const jinja = join(dir, 'chat_template.jinja');
    const template = existsSync(jinja) ? readFileSync(jinja, 'utf8') : inlineTemplate(config.chat_template);
    return new Tokenizer(inner, config, template);
  }

  get vocabSize(): number {
    return this.inner.getVocabSize(true);
  }

  tokenToId(token: string): number | null {
    return this.inner.tokenToId(token) ?? null;
  }

  idToToken(id: number): string | null {
    return this.inner.idToToken(id) ?? null;
  }

  get eosTokenId(): number | null {
    return this.eosToken === null ? null : this.tokenToId(this.eosToken);
  }

  get bosTokenId(): number | null {
    return this.bosToken === null ? null : this.tokenToId(this.bosToken);
  }

  /** The pad id: pad_token, else eos_token (the usual choice for decoder-only models), else 0. */
  get padTokenId(): number {
    return (this.padToken !== null ? this.tokenToId(this.padToken) : null) ?? this.eosTokenId ?? 0;
  }

  async encode(text: string, options: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    const enc = await this.inner.encode(text, null, { addSpecialTokens: options.addSpecialTokens ?? true });
    return enc.getIds();
  }

  async decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): Promise<string> {
    return this.inner.decode(ids, options.skipSpecialTokens ?? false);
  }

  async decodeBatch(ids: number[][], options: { skipSpecialTokens?: boolean } = {}): Promise<string[]> {
    return this.inner.decodeBatch(ids, options.skipSpecialTokens ?? false);
  }

  /** Encodes texts into padded [B, T] ids and a 0/1 attention mask (left padding unless paddingSide = 'right'). */
  async encodeBatch(
    texts: string[],
    options: { addSpecialTokens?: boolean; paddingSide?: 'left' | 'right'; maxLength?: number } = {},
  ): Promise<BatchEncoding> {
    let rows = await Promise.all(texts.map((t) => this.encode(t, options)));
    if (options.maxLength) rows = rows.map((r) => r.slice(0, options.maxLength));
    const len = Math.max(1, ...rows.map((r) => r.length));
    const side = options.paddingSide ?? this.paddingSide;
    const pad = this.padTokenId;
    const ids: number[][] = [];
    const mask: number[][] = [];
    for (const r of rows) {
      const fill = new Array<number>(len - r.length);
      ids.push(side === 'left' ? [...fill.fill(pad), ...r] : [...r, ...fill.fill(pad)]);
      const ones = new Array<number>(r.length).fill(1);
      const zeros = new Array<number>(len - r.length).fill(0);
      mask.push(side === 'left' ? [...zeros, ...ones] : [...ones, ...zeros]);
    }
    return { inputIds: torch.tensor(ids, { dtype: 'int64' }), attentionMask: torch.tensor(mask, { dtype: 'int64' }) };
  }

  /** Renders the chat template (tokenizer_config.json's chat_template or chat_template.jinja). */
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt?: boolean; extra?: Record<string, unknown> } = {}): string {
    if (!this.chatTemplate)
      throw new LetheError('BAD_INPUT', 'applyChatTemplate: this tokenizer has no chat_template (not an instruct model?)');
    return new Template(this.chatTemplate).render({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
      pad_token: this.padToken ?? '',
      unk_token: this.unkToken ?? '',
      ...options.extra,
    });
  }
}

export function loadTokenizer(dir: string): Tokenizer {
  return Tokenizer.fromDir(dir);
}

/** Why a tokenizer without an EOS token matters, and how to fix it (null when it has one). Training
 *  then appends no end marker, so the model never learns where an answer stops. */
export function missingEosWarning(tok: Tokenizer, dir: string): string | null {
  if (tok.eosTokenId !== null) return null;
  return (
    `the tokenizer in ${dir} has no EOS token (no 'eos_token' in tokenizer_config.json or special_tokens_map.json): ` +
    'rows are trained without an end marker, so the model does not learn where an answer stops, and generations run to their token limit. ' +
    `Add "eos_token": "<its end token>" to ${join(dir, 'tokenizer_config.json')} (Llama-family models: usually "</s>"; GPT-2: "<|endoftext|>")`
  );
}
