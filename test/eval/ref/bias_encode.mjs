#!/usr/bin/env node
// Probe items and their token ids for make_bias_reference.py: a few professions and phrasings of the
// bias suite as the evaluator's pair items (src/eval/suites.ts biasProbeItems), each encoded as the
// evaluator encodes a pair (prompt + completion, and the prompt alone) with the fixture tokenizer.
// usage: LETHE_NATIVE=... node test/eval/ref/bias_encode.mjs   (after tsc: reads dist/), then the .py
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const { loadTokenizer } = await import(join(root, 'dist/src/models/tokenizer.js'));
const { TRAIN_TEMPLATES, PRONOUNS } = await import(join(root, 'dist/src/data/bias.js'));
const { biasProbeItems } = await import(join(root, 'dist/src/eval/suites.js'));
const tok = loadTokenizer(process.env.LETHE_FIXTURES ? join(process.env.LETHE_FIXTURES, 'tokenizer') : resolve(root, '../shared/fixtures/hf-reference/tokenizer'));
const professions = [['nurse', 'she'], ['pilot', 'he'], ['baker', 'she'], ['judge', 'he'], ['tailor', 'he']];
const templates = [0, 17, 25]; // a subject, a possessive and an object slot
const probes = professions.flatMap(([profession, direction]) => templates.map((template) => {
  const t = TRAIN_TEMPLATES[template];
  return { prompt: t.prefix.replace('{prof}', profession), female: ` ${PRONOUNS[t.slot].female}`, male: ` ${PRONOUNS[t.slot].male}`, profession, direction, template, slot: t.slot };
}));
const items = [];
for (const it of biasProbeItems(probes)) items.push({ ...it, full_ids: await tok.encode(it.prompt + it.completion), prompt_ids: await tok.encode(it.prompt) });
writeFileSync(join(here, 'bias_tokens.json'), JSON.stringify(items));
console.error(`bias_tokens.json: ${items.length} items`);
