// util/: JSONL reading and writing, atomic writes, sha256 and canonical JSON, the model fingerprint.
// Errors about data files name the file and the line, never a value from a row; identities keep the
// bytes that stored ids (record ids, registry and certificate hashes) were made with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badRow, LetheError } from '../../src/util/errors.js';
import { writeFileAtomic } from '../../src/util/atomic.js';
import { canonicalJson, sha256, sha256File } from '../../src/util/hash.js';
import { readJsonl, writeJsonl } from '../../src/util/jsonl.js';
import { modelFingerprint } from '../../src/util/model-fingerprint.js';

const dir = mkdtempSync(join(tmpdir(), 'lethe-util-'));
const SECRET = 'Ada Quillfeather';

const refused = (code: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof LetheError, `a LetheError, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  assert.ok(!err.message.includes(SECRET), `the row is not quoted: ${err.message}`);
  return true;
};

test('readJsonl: rows with their line numbers; blank lines, CRLF and a byte-order mark are no rows', () => {
  const f = join(dir, 'rows.jsonl');
  writeFileSync(f, '\uFEFF{"text": "a"}\r\n\n   \n{"text": "b"}\n\t\n{"text": "c"}');
  const seen: number[] = [];
  const rows = readJsonl(f, {
    what: 'data file',
    validate: (row, line) => {
      seen.push(line);
      return (row as { text: string }).text;
    },
  });
  assert.deepEqual(rows, ['a', 'b', 'c']);
  assert.deepEqual(seen, [1, 4, 6]);
  assert.deepEqual(readJsonl(f, { what: 'data file' }), [{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
});

test('readJsonl: a missing file, a line that is not JSON, a bad row and no rows name the file and line, never the row', () => {
  const missing = join(dir, 'none.jsonl');
  assert.throws(() => readJsonl(missing, { what: 'forget file' }), refused('NOT_FOUND', /^forget file: .*none\.jsonl does not exist$/));
  assert.throws(() => readJsonl(missing, { what: 'task x', hint: 'build it first' }), /does not exist \(build it first\)$/);
  assert.throws(() => readJsonl(dir, { what: 'forget file' }), refused('BAD_INPUT', /is a folder, not a file; give a JSONL file/));
  const array = join(dir, 'array.json');
  writeFileSync(array, JSON.stringify([{ text: SECRET }, { text: 'b' }], null, 2));
  assert.throws(() => readJsonl(array, { what: 'forget file' }), refused('BAD_INPUT', /array\.json is one JSON array; expected JSONL/));

  const notJson = join(dir, 'not-json.jsonl');
  writeFileSync(notJson, `{"text": "fine"}\n\n{"text": "${SECRET}", \n`);
  assert.throws(
    () => readJsonl(notJson, { what: '--holdout' }),
    refused('BAD_INPUT', /^--holdout: .*not-json\.jsonl:3: not valid JSON( \(at character \d+\))?; expected one JSON object per line$/),
  );

  const bad = join(dir, 'bad-row.jsonl');
  writeFileSync(bad, `{"text": "fine"}\n{"name": "${SECRET}"}\n`);
  const validate = (row: unknown, line: number) => {
    const r = row as Record<string, unknown>;
    if (typeof r.text !== 'string') throw badRow(bad, line, 'text', 'a string', r.name);
    return r.text;
  };
  assert.throws(
    () => readJsonl(bad, { what: 'forget file', validate }),
    refused('BAD_INPUT', /bad-row\.jsonl:2: field 'text': expected a string, got a string$/),
  );

  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '\n  \n');
  assert.throws(
    () => readJsonl(empty, { what: 'forget file', expected: '{"text"} rows' }),
    refused('BAD_INPUT', /^forget file: .*empty\.jsonl holds no rows \(expected \{"text"\} rows\)$/),
  );
  assert.deepEqual(readJsonl(empty, { what: 'proposal', allowEmpty: true }), []);
});

test('writeJsonl: one row a line, read back as written; returns the sha256 of the bytes and the row count', () => {
  const f = join(dir, 'out.jsonl');
  const rows = [{ text: 'a' }, { question: 'q?', answer: 'é\n' }, [1, 2]];
  const r = writeJsonl(f, rows);
  assert.equal(readFileSync(f, 'utf8'), '{"text":"a"}\n{"question":"q?","answer":"é\\n"}\n[1,2]\n');
  assert.deepEqual(readJsonl(f, { what: 'out' }), rows);
  assert.deepEqual(r, { sha256: sha256File(f), rows: 3 });
  assert.deepEqual(writeJsonl(join(dir, 'none-out.jsonl'), []), { sha256: sha256(''), rows: 0 });
});

test('writeFileAtomic: replaces the file whole, leaves no temporary file, keeps the old file when it fails', () => {
  const d = join(dir, 'atomic');
  mkdirSync(d);
  const f = join(d, 'record.json');
  writeFileAtomic(f, 'old\n');
  writeFileAtomic(f, 'new\n', { fsync: true });
  assert.equal(readFileSync(f, 'utf8'), 'new\n');
  writeFileAtomic(join(d, 'key'), Buffer.from('secret'), { mode: 0o600 });
  assert.equal(statSync(join(d, 'key')).mode & 0o077, 0, 'mode given: not readable by others');
  assert.throws(() => writeFileAtomic(f, 'other\n', { exclusive: true }), refused('CONFLICT', /record\.json already exists/));
  assert.equal(readFileSync(f, 'utf8'), 'new\n', 'exclusive: the existing file is untouched');
  mkdirSync(join(d, 'busy'));
  writeFileSync(join(d, 'busy', 'x'), 'x');
  assert.throws(() => writeFileAtomic(join(d, 'busy'), 'data'), 'a rename over a non-empty folder fails');
  assert.deepEqual(readdirSync(d).sort(), ['busy', 'key', 'record.json'], 'no temporary file is left, even after a failure');
});

test('writeFileAtomic: a reader never sees half a file', async () => {
  const f = join(dir, 'big.txt');
  const size = 4 * 1024 * 1024;
  writeFileAtomic(f, 'a'.repeat(size));
  // Another process reads the file in a loop while this one rewrites it with other letters.
  const reader = spawn(process.execPath, [
    '-e',
    `
    const { readFileSync } = require('node:fs');
    let reads = 0, torn = 0;
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      const t = readFileSync(${JSON.stringify(f)}, 'latin1');
      reads++;
      if (t.length !== ${size} || t[0] !== t[t.length - 1] || t.indexOf(t[0] === 'a' ? 'b' : 'a') >= 0) torn++;
    }
    process.stdout.write(JSON.stringify({ reads, torn }));`,
  ]);
  let out = '';
  reader.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const done = new Promise<number>((ok) => reader.on('close', ok));
  for (let k = 0; k < 40; k++) {
    writeFileAtomic(f, (k % 2 ? 'a' : 'b').repeat(size));
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await done, 0);
  const { reads, torn } = JSON.parse(out) as { reads: number; torn: number };
  assert.ok(reads > 0, 'the reader read');
  assert.equal(torn, 0, `${torn} of ${reads} reads saw a partly written file`);
});

test('sha256File equals sha256 of the bytes (across its 1 MiB reads, and for an empty file)', () => {
  const bytes = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
  const f = join(dir, 'bytes.bin');
  writeFileSync(f, bytes);
  assert.equal(sha256File(f), sha256(bytes));
  writeFileSync(join(dir, 'empty.bin'), '');
  assert.equal(sha256File(join(dir, 'empty.bin')), sha256(''));
  assert.equal(sha256(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('canonicalJson: keys sorted at every depth, no whitespace; the bytes record ids were made with', () => {
  const row = JSON.parse(
    '{"question":"Q?","answer":"A.","person_id":7,"nested":{"b":[1,2.5,{"z":null,"a":"é\\u2028"}],"a":true},"Zed":-0.0001}',
  ) as unknown;
  assert.equal(
    canonicalJson(row),
    '{"Zed":-0.0001,"answer":"A.","nested":{"a":true,"b":[1,2.5,{"a":"é\u2028","z":null}]},"person_id":7,"question":"Q?"}',
  );
  // The sha256 SISA record ids and provenance record hashes of this row had before the two
  // canonical JSONs became one (sorted by UTF-16 code unit, as Array.prototype.sort does).
  assert.equal(sha256(canonicalJson(row)), 'fe329475fa4e0fe7862e4f0cefa80c3075d9be86bde1a4c87d24a22809eb5902');
  assert.equal(canonicalJson({ b: 1, a: { d: [], c: {} } }), canonicalJson({ a: { c: {}, d: [] }, b: 1 }));
});

test('canonicalJson: undefined members dropped and undefined list entries null, as JSON.stringify; NaN and ±Infinity refused', () => {
  assert.equal(canonicalJson({ a: undefined, b: [undefined, 1], c: null }), '{"b":[null,1],"c":null}');
  assert.equal(canonicalJson({ a: undefined, b: [undefined, 1], c: null }), JSON.stringify({ b: [undefined, 1], c: null, a: undefined }));
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(
      () => canonicalJson({ value: bad }),
      (err: unknown) => err instanceof LetheError && err.code === 'BAD_INPUT' && /numbers must be finite/.test(err.message),
    );
    assert.throws(() => canonicalJson([bad]), /numbers must be finite/);
  }
  assert.throws(() => canonicalJson({ f: () => 1 }), /cannot encode a function/);
  assert.throws(() => canonicalJson({ n: 1n }), /cannot encode a bigint/);
});

test('modelFingerprint: every file of the folder, sub-folders included, in sha256sum format (the registry and certificate hash)', () => {
  const m = join(dir, 'model');
  mkdirSync(join(m, 'sub'), { recursive: true });
  writeFileSync(join(m, 'config.json'), '{"a":1}\n');
  writeFileSync(join(m, 'model.safetensors'), 'abc');
  writeFileSync(join(m, 'tokenizer.json'), '{}');
  writeFileSync(join(m, 'sub', 'x.txt'), 'x');
  const fp = modelFingerprint(m);
  assert.deepEqual(Object.keys(fp.files), ['config.json', 'model.safetensors', 'sub/x.txt', 'tokenizer.json']);
  assert.equal(fp.files['model.safetensors'], sha256('abc'));
  const listing = Object.entries(fp.files)
    .map(([p, h]) => `${h}  ${p}\n`)
    .join('');
  assert.equal(fp.sha256, sha256(listing));
  assert.equal(
    fp.sha256,
    '3a6a8c65d98593f068d289fc2a0f69eed346acea84186bd6a852963700f0477c',
    'the value registries and certificates hold for this folder',
  );
  writeFileSync(join(m, 'tokenizer.json'), '{"v":2}');
  assert.notEqual(modelFingerprint(m).sha256, fp.sha256, 'a changed tokenizer changes the fingerprint');
  mkdirSync(join(dir, 'empty-model'));
  assert.throws(() => modelFingerprint(join(dir, 'empty-model')), /holds no files/);
});
