#!/usr/bin/env node
// Token ids for make_mc_reference.py: encodes every string in mc_strings.json with Lethe's tokenizer
// (the fixture tokenizer.json through HF tokenizers, no special tokens) into mc_tokens.json.
// usage: LETHE_NATIVE=... node test/eval/ref/mc_encode.mjs   (after tsc: reads dist/)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { loadTokenizer } = await import(join(root, 'dist/src/models/tokenizer.js'));
const tok = loadTokenizer(process.env.LETHE_FIXTURES ? join(process.env.LETHE_FIXTURES, 'tokenizer') : resolve(root, '../shared/fixtures/hf-reference/tokenizer'));
const out = existsSync(join(here, 'mc_tokens.json')) ? JSON.parse(readFileSync(join(here, 'mc_tokens.json'), 'utf8')) : {};
for (const s of JSON.parse(readFileSync(join(here, 'mc_strings.json'), 'utf8'))) out[s] = await tok.encode(s, { addSpecialTokens: false });
writeFileSync(join(here, 'mc_tokens.json'), JSON.stringify(out, null, 0));
console.error(`mc_tokens.json: ${Object.keys(out).length} strings`);
