// Tokenizer: exact agreement with Hugging Face tokenizers on the fixture (encode and decode),
// special tokens from tokenizer_config.json / special_tokens_map.json (plain strings and the
// {content} objects newer HF writes), chat templates (inline and chat_template.jinja), batch
// encoding with left/right padding and truncation, and clear errors for missing or corrupt files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadTokenizer, Tokenizer } from '../../src/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const tokDir = requireFixture('tokenizer');
const tokFile = join(tokDir, 'tokenizer.json');
const tmp = tempDir('lethe-tokenizer-');

interface Encoding {
  text: string;
  ids: number[];
  decoded: string;
}
const encodings = JSON.parse(readFileSync(join(tokDir, 'encodings.json'), 'utf8')) as Encoding[];

let folderCount = 0;
/** A fresh folder holding the fixture's tokenizer.json (or `tokenizerJson`) plus the given files. */
function folder(files: Record<string, unknown>, tokenizerJson?: unknown): string {
  const dir = join(tmp, `t${folderCount++}`);
  mkdirSync(dir);
  if (tokenizerJson === undefined) copyFileSync(tokFile, join(dir, 'tokenizer.json'));
  else writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** The fixture's tokenizer.json with ChatML's <|im_start|> (512) and <|im_end|> (513) added as special tokens. */
function chatmlTokenizerJson(): unknown {
  const json = JSON.parse(readFileSync(tokFile, 'utf8')) as { added_tokens: Record<string, unknown>[] };
  const base = json.added_tokens[0]!;
  json.added_tokens.push({ ...base, id: 512, content: '<|im_start|>' }, { ...base, id: 513, content: '<|im_end|>' });
  return json;
}

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Forget Élodie?' },
];
const RENDERED = '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nForget Élodie?<|im_end|>\n<|im_start|>assistant\n';

function ints(t: torch.Tensor): number[][] {
  return t.toArray() as number[][];
}

test('encode and decode match Hugging Face tokenizers exactly on every fixture string', async () => {
  assert.equal(encodings.length, 4);
  const tok = loadTokenizer(tokDir);
  assert.ok(tok instanceof Tokenizer);
  for (const { text, ids, decoded } of encodings) {
    assert.deepEqual(await tok.encode(text), ids, `encode(${JSON.stringify(text)})`);
    assert.deepEqual(await tok.encode(text, { addSpecialTokens: false }), ids, `encode(${JSON.stringify(text)}) without special tokens`);
    assert.equal(await tok.decode(ids), decoded, `decode of ${JSON.stringify(text)}`);
  }
  assert.deepEqual(
    await tok.decodeBatch(encodings.map((e) => e.ids)),
    encodings.map((e) => e.decoded),
  );
});

test('vocabulary: size, <|endoftext|> = 0, id ↔ token, no config means no special tokens', () => {
  const tok = loadTokenizer(tokDir);
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.tokenToId('<|endoftext|>'), 0);
  assert.equal(tok.idToToken(0), '<|endoftext|>');
  assert.equal(tok.tokenToId('not-a-token-at-all'), null);
  assert.equal(tok.bosToken, null);
  assert.equal(tok.eosToken, null);
  assert.equal(tok.eosTokenId, null);
  assert.equal(tok.padTokenId, 0, 'no pad and no eos: 0');
  assert.equal(tok.paddingSide, 'left');
  assert.equal(tok.chatTemplate, null);
});

test('skipSpecialTokens drops <|endoftext|> on decode (single and batch)', async () => {
  const tok = loadTokenizer(tokDir);
  const [a, b] = [encodings[0]!, encodings[3]!];
  const ids = [0, ...a.ids, 0];
  assert.equal(await tok.decode(ids), `<|endoftext|>${a.decoded}<|endoftext|>`);
  assert.equal(await tok.decode(ids, { skipSpecialTokens: true }), a.decoded);
  assert.deepEqual(await tok.decodeBatch([ids, [...b.ids, 0]], { skipSpecialTokens: true }), [a.decoded, b.decoded]);
  assert.deepEqual(await tok.decodeBatch([[...b.ids, 0]]), [`${b.decoded}<|endoftext|>`]);
  // The special token in text is one id, not split into bytes.
  assert.deepEqual(await tok.encode(`${a.text}<|endoftext|>`), [...a.ids, 0]);
});

test('special tokens as plain strings in tokenizer_config.json; pad falls back to EOS; inline chat_template', async () => {
  const dir = folder(
    {
      'tokenizer_config.json': { bos_token: '<|im_start|>', eos_token: '<|im_end|>', padding_side: 'right', chat_template: CHATML },
    },
    chatmlTokenizerJson(),
  );
  const tok = loadTokenizer(dir);
  assert.equal(tok.vocabSize, 514);
  assert.equal(tok.bosToken, '<|im_start|>');
  assert.equal(tok.eosToken, '<|im_end|>');
  assert.equal(tok.padToken, null);
  assert.equal(tok.bosTokenId, 512);
  assert.equal(tok.eosTokenId, 513);
  assert.equal(tok.padTokenId, 513, 'pad_token absent: the EOS id');
  assert.equal(tok.paddingSide, 'right');
  assert.equal(tok.applyChatTemplate(MESSAGES, { addGenerationPrompt: true }), RENDERED);
  assert.equal(tok.applyChatTemplate(MESSAGES), RENDERED.slice(0, -'<|im_start|>assistant\n'.length), 'no generation prompt by default');
  // The rendered prompt tokenizes with the added tokens as single ids.
  const ids = await tok.encode(RENDERED);
  assert.equal(ids[0], 512);
  assert.equal(ids.filter((x) => x === 513).length, 2);
  assert.equal(await tok.decode(ids), RENDERED);
  // paddingSide from the config is the default for encodeBatch.
  const batch = await tok.encodeBatch(['ab', 'abcd efgh']);
  const rowIds = ints(batch.inputIds);
  assert.deepEqual(rowIds[0]!.slice(-1), [513], 'right padding with the EOS id');
  assert.deepEqual(ints(batch.attentionMask)[0]!.at(-1), 0);
  torch.dispose(batch);
});

test('special tokens as {content} objects (newer HF), with explicit pad_token and left padding', async () => {
  const added = (content: string): Record<string, unknown> => ({
    __type: 'AddedToken',
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
    special: true,
  });
  const dir = folder(
    {
      'tokenizer_config.json': {
        bos_token: added('<|endoftext|>'),
        eos_token: added('<|im_end|>'),
        pad_token: added('<|endoftext|>'),
        unk_token: null,
        padding_side: 'left',
        chat_template: CHATML,
      },
    },
    chatmlTokenizerJson(),
  );
  const tok = loadTokenizer(dir);
  assert.equal(tok.bosToken, '<|endoftext|>');
  assert.equal(tok.eosToken, '<|im_end|>');
  assert.equal(tok.padToken, '<|endoftext|>');
  assert.equal(tok.unkToken, null);
  assert.equal(tok.bosTokenId, 0);
  assert.equal(tok.eosTokenId, 513);
  assert.equal(tok.padTokenId, 0, 'an explicit pad_token wins over EOS');
  assert.equal(tok.paddingSide, 'left');
  assert.equal(tok.applyChatTemplate(MESSAGES, { addGenerationPrompt: true }), RENDERED);
});

test('chat_template.jinja beside the config, bos_token and extra variables in the template', () => {
  const template =
    '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}{{ note }}';
  const dir = folder({
    'tokenizer_config.json': { bos_token: { content: '<|endoftext|>' }, eos_token: { content: '<|endoftext|>' } },
    'chat_template.jinja': template,
  });
  const tok = loadTokenizer(dir);
  assert.equal(tok.chatTemplate, template);
  assert.equal(
    tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true, extra: { note: '!' } }),
    '<|endoftext|>[user] hi<|endoftext|>[assistant] !',
  );
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { extra: { note: '' } }), '<|endoftext|>[user] hi<|endoftext|>');
});

test('chat_template.jinja takes precedence over an inline chat_template', () => {
  const dir = folder({ 'tokenizer_config.json': { chat_template: 'inline' }, 'chat_template.jinja': 'from file' });
  assert.equal(loadTokenizer(dir).applyChatTemplate([]), 'from file');
});

test('the list-of-templates chat_template form picks the default template', () => {
  const dir = folder({
    'tokenizer_config.json': {
      eos_token: '<|endoftext|>',
      chat_template: [
        { name: 'tool_use', template: 'tools' },
        { name: 'default', template: CHATML },
      ],
    },
  });
  const tok = loadTokenizer(dir);
  assert.equal(
    tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: true }),
    '<|im_start|>user\nx<|endoftext|>\n<|im_start|>assistant\n',
  );
});

test('special_tokens_map.json supplies special tokens, alone or beside tokenizer_config.json', () => {
  const onlyMap = loadTokenizer(
    folder({
      'special_tokens_map.json': {
        bos_token: { content: '<|endoftext|>', lstrip: false },
        eos_token: '<|endoftext|>',
        pad_token: { content: '<|endoftext|>' },
      },
    }),
  );
  assert.equal(onlyMap.bosToken, '<|endoftext|>');
  assert.equal(onlyMap.eosToken, '<|endoftext|>');
  assert.equal(onlyMap.padToken, '<|endoftext|>');
  assert.equal(onlyMap.eosTokenId, 0);
  assert.equal(onlyMap.padTokenId, 0);
  assert.equal(onlyMap.chatTemplate, null);

  // The usual split: special tokens in the map, the template and padding side in the config.
  const both = loadTokenizer(
    folder(
      {
        'special_tokens_map.json': { bos_token: { content: '<|im_start|>' }, eos_token: { content: '<|im_end|>' } },
        'tokenizer_config.json': { padding_side: 'right', chat_template: CHATML },
      },
      chatmlTokenizerJson(),
    ),
  );
  assert.equal(both.eosTokenId, 513);
  assert.equal(both.bosTokenId, 512);
  assert.equal(both.padTokenId, 513, 'pad_token absent: the EOS id');
  assert.equal(both.paddingSide, 'right');
  assert.equal(both.applyChatTemplate(MESSAGES, { addGenerationPrompt: true }), RENDERED);
});

test('a tokenizer without a chat template throws a clear error', () => {
  const tok = loadTokenizer(folder({ 'tokenizer_config.json': { eos_token: '<|endoftext|>' } }));
  assert.throws(
    () => tok.applyChatTemplate(MESSAGES, { addGenerationPrompt: true }),
    (err: Error) => err instanceof Error && /applyChatTemplate/.test(err.message) && /no chat_template/.test(err.message),
  );
});

test('encodeBatch left-pads by default: ids, mask, shapes; right padding; maxLength truncation', async () => {
  const tok = loadTokenizer(folder({ 'tokenizer_config.json': { eos_token: '<|endoftext|>' } }));
  const texts = [encodings[3]!.text, encodings[0]!.text, 'Hi'];
  const rows = await Promise.all(texts.map((t) => tok.encode(t)));
  const lens = rows.map((r) => r.length);
  assert.deepEqual(lens.slice(0, 2), [22, 30]);
  const T = 30;
  const pad = tok.padTokenId;
  assert.equal(pad, 0);

  const left = await tok.encodeBatch(texts);
  assert.deepEqual(left.inputIds.shape, [3, T]);
  assert.deepEqual(left.attentionMask.shape, [3, T]);
  assert.equal(left.inputIds.dtype, 'int64');
  assert.equal(left.attentionMask.dtype, 'int64');
  assert.deepEqual(
    ints(left.inputIds),
    rows.map((r) => [...new Array<number>(T - r.length).fill(pad), ...r]),
  );
  assert.deepEqual(
    ints(left.attentionMask),
    rows.map((r) => [...new Array<number>(T - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
  );
  torch.dispose(left);

  const right = await tok.encodeBatch(texts, { paddingSide: 'right' });
  assert.deepEqual(right.inputIds.shape, [3, T]);
  assert.deepEqual(
    ints(right.inputIds),
    rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(pad)]),
  );
  assert.deepEqual(
    ints(right.attentionMask),
    rows.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(T - r.length).fill(0)]),
  );
  torch.dispose(right);

  // maxLength truncates (keeps the first tokens); the batch is as long as its longest truncated row.
  const cut = await tok.encodeBatch(texts, { maxLength: 8 });
  assert.deepEqual(cut.inputIds.shape, [3, 8]);
  const short = rows[2]!;
  assert.ok(short.length < 8);
  assert.deepEqual(ints(cut.inputIds), [
    rows[0]!.slice(0, 8),
    rows[1]!.slice(0, 8),
    [...new Array<number>(8 - short.length).fill(pad), ...short],
  ]);
  assert.deepEqual(ints(cut.attentionMask)[2], [
    ...new Array<number>(8 - short.length).fill(0),
    ...new Array<number>(short.length).fill(1),
  ]);
  torch.dispose(cut);

  // A batch whose rows all fit in maxLength is not padded to it.
  const fits = await tok.encodeBatch(['Hi', 'Hi'], { maxLength: 100 });
  assert.deepEqual(fits.inputIds.shape, [2, short.length]);
  assert.deepEqual(ints(fits.attentionMask), [new Array<number>(short.length).fill(1), new Array<number>(short.length).fill(1)]);
  torch.dispose(fits);

  // decodeBatch of the left-padded rows, padding skipped, gives the texts back.
  const again = await tok.encodeBatch(texts);
  assert.deepEqual(await tok.decodeBatch(ints(again.inputIds), { skipSpecialTokens: true }), texts);
  torch.dispose(again);
});

test('a folder without tokenizer.json names the folder; a corrupt tokenizer.json names the file', () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  assert.throws(
    () => loadTokenizer(empty),
    (err: Error) => err instanceof Error && err.message.includes(empty) && /no tokenizer\.json/.test(err.message),
  );

  const legacy = join(tmp, 'legacy');
  mkdirSync(legacy);
  writeFileSync(join(legacy, 'vocab.json'), '{}');
  assert.throws(
    () => loadTokenizer(legacy),
    (err: Error) => err.message.includes(legacy) && /no tokenizer\.json.*vocab\.json/.test(err.message),
  );

  const corrupt = join(tmp, 'corrupt');
  mkdirSync(corrupt);
  const file = join(corrupt, 'tokenizer.json');
  writeFileSync(file, '{"version": "1.0", "model": ');
  assert.throws(
    () => loadTokenizer(corrupt),
    (err: Error) => err.message.includes(file) && /could not be read as a Hugging Face tokenizer/.test(err.message),
  );

  const notJsonConfig = folder({ 'tokenizer_config.json': '{bos_token: ' });
  assert.throws(
    () => loadTokenizer(notJsonConfig),
    (err: Error) => err.message.includes(join(notJsonConfig, 'tokenizer_config.json')) && /not valid JSON/.test(err.message),
  );
});
