// --fields: prompt/completion, instruction/output and chat messages load as question/answer rows; a run
// on a mapped file trains exactly as the same rows under Lethe's own names; errors name the file's field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseFieldMap, mapFields } from '../../src/train/fields.js';
import { readRows } from '../../src/train/examples.js';
import { LetheError } from '../../src/util/errors.js';
import { sha256File } from '../../src/util/hash.js';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli, npoArgs } from '../helpers/cli.js';

const dir = tempDir('lethe-fields-');
const qa = PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` }));

test('parseFieldMap: renames, messages, and refusals naming --fields', () => {
  assert.deepEqual(parseFieldMap('question=prompt,answer=completion'), { question: 'prompt', answer: 'completion' });
  assert.deepEqual(parseFieldMap('question=instruction, answer=output'), { question: 'instruction', answer: 'output' });
  assert.deepEqual(parseFieldMap('messages'), { messages: 'messages' });
  assert.deepEqual(parseFieldMap('messages=conversation'), { messages: 'conversation' });
  for (const bad of ['', 'prompt=question', 'question=', 'messages,question=q'])
    assert.throws(
      () => parseFieldMap(bad),
      (e: unknown) => e instanceof LetheError && e.code === 'BAD_INPUT' && /'--fields' must be/.test(e.message),
      bad,
    );
});

test('each layout reads as the same question/answer rows', () => {
  const layouts: [string, unknown[]][] = [
    ['question=prompt,answer=completion', qa.map((r) => ({ prompt: r.question, completion: r.answer }))],
    ['question=instruction,answer=output', qa.map((r) => ({ instruction: r.question, output: r.answer, input: '' }))],
    [
      'messages',
      qa.map((r) => ({
        messages: [
          { role: 'system', content: 'Answer briefly.' },
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Hi.' },
          { role: 'user', content: r.question },
          { role: 'assistant', content: r.answer },
        ],
      })),
    ],
  ];
  for (const [spec, rows] of layouts) {
    const file = writeJsonl(join(dir, `${spec.replace(/\W+/g, '_')}.jsonl`), rows);
    const got = readRows(file, 'forget', parseFieldMap(spec)).rows.map((r) => ({ question: r.question, answer: r.answer }));
    assert.deepEqual(got, qa, spec);
  }
  const noAnswer = { messages: [{ role: 'user', content: 'Where does Ada Secretname live?' }] };
  assert.throws(
    () => mapFields(noAnswer, { messages: 'messages' }, 'f.jsonl', 3),
    (e: unknown) =>
      e instanceof LetheError &&
      /f\.jsonl:3: field 'messages': expected a list of .* a user turn, then an assistant turn, got a list/.test(e.message) &&
      !e.message.includes('Secretname'),
  );
  const file = writeJsonl(join(dir, 'missing.jsonl'), [{ prompt: 'Where does Ada Secretname live?' }]);
  assert.throws(
    () => readRows(file, 'forget', parseFieldMap('question=prompt,answer=completion')),
    (e: unknown) => e instanceof LetheError && /missing\.jsonl:1: field 'completion': expected a string, got nothing/.test(e.message),
  );
});

const model = tinyModel(dir);
const own = writeJsonl(join(dir, 'own.jsonl'), qa);

test('lethe forget --fields trains exactly as the same rows under their own names', () => {
  const mapped = writeJsonl(
    join(dir, 'mapped.jsonl'),
    qa.map((r) => ({ prompt: r.question, completion: r.answer })),
  );
  const run = (file: string, out: string, ...extra: string[]) => {
    const r = runCli(npoArgs(model, file, '--no-retain', '--steps', '2', '--out', out, ...extra));
    assert.equal(r.status, 0, r.stderr);
    return sha256File(join(out, 'model.safetensors'));
  };
  assert.equal(run(mapped, join(dir, 'b'), '--fields', 'question=prompt,answer=completion'), run(own, join(dir, 'a')));
});

test('lethe eval --fields and ask --fields read a mapped file as the same rows', () => {
  const mapped = writeJsonl(
    join(dir, 'mapped-chat.jsonl'),
    qa.map((r) => ({
      messages: [
        { role: 'user', content: r.question },
        { role: 'assistant', content: r.answer },
      ],
    })),
  );
  const evaluate = (file: string, out: string, ...extra: string[]) => {
    const r = runCli([
      'eval',
      '--model',
      model,
      '--forget',
      file,
      '--metrics',
      'forget_Q_A_Prob,forget_Q_A_ROUGE',
      '--out',
      out,
      '--no-cache',
      '--json',
      ...extra,
    ]);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { summary: Record<string, number> }).summary;
  };
  assert.deepEqual(evaluate(mapped, join(dir, 'eval-mapped'), '--fields', 'messages'), evaluate(own, join(dir, 'eval-own')));
  const ask = (...extra: string[]) => {
    const r = runCli(['ask', '--model', model, '--json', ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as unknown[];
  };
  assert.deepEqual(ask('--file', mapped, '--fields', 'messages'), ask('--file', own));
});
