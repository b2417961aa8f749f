import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DICT_PACKAGES, decodeDictdNumber, dictdAvailable, readDictd, readDictdHeadwords, uniqueEntries } from '../../src/data/dictd.js';
import { withTempDir } from '../helpers/tmp.js';

test('decodeDictdNumber reads base-64 digits A-Za-z0-9+/, most significant first', () => {
  assert.equal(decodeDictdNumber('A'), 0);
  assert.equal(decodeDictdNumber('B'), 1);
  assert.equal(decodeDictdNumber('a'), 26);
  assert.equal(decodeDictdNumber('0'), 52);
  assert.equal(decodeDictdNumber('+'), 62);
  assert.equal(decodeDictdNumber('/'), 63);
  assert.equal(decodeDictdNumber('BA'), 64);
  assert.equal(decodeDictdNumber('Ph'), 15 * 64 + 33); // 993
  assert.equal(decodeDictdNumber('CuHr'), 2 * 64 ** 3 + 46 * 64 ** 2 + 7 * 64 + 43); // 713195
  assert.equal(decodeDictdNumber('Dfnw'), 915952);
  assert.equal(decodeDictdNumber('////'), 64 ** 4 - 1);
  assert.throws(() => decodeDictdNumber('A-B'), /bad base64 digit '-'/);
  assert.throws(() => decodeDictdNumber(''), /empty/);
});

test('readDictd names the Debian package and the fix when the files are missing', () => {
  withTempDir('lethe-dictd-', (dir) => {
    assert.equal(dictdAvailable('jargon', dir), false);
    assert.throws(
      () => readDictd('jargon', dir, { neededBy: 'the book suite' }),
      (err: Error) => {
        assert.match(err.message, /^the book suite needs /);
        assert.ok(err.message.includes(join(dir, 'jargon.index')), err.message);
        assert.match(err.message, /Debian package dict-jargon/);
        assert.match(err.message, /apt-get install dict-jargon/);
        return true;
      },
    );
    assert.throws(() => readDictdHeadwords('gcide', dir), /apt-get install dict-gcide/);
    // The index alone is not enough: the data file is named too.
    writeFileSync(join(dir, 'devil.index'), 'x\tA\tB\n');
    assert.throws(() => readDictd('devil', dir), /devil\.dict\.dz \(Debian package dict-devil\): apt-get install dict-devil/);
  });
  assert.deepEqual(Object.keys(DICT_PACKAGES).sort(), ['devil', 'elements', 'gcide', 'jargon']);
  assert.equal(DICT_PACKAGES.gcide, 'dict-gcide');
});

test('readDictd returns entries in index order as byte ranges of the gunzipped data, metadata skipped', () => {
  withTempDir('lethe-dictd-', (dir) => {
    // Byte offsets: "00-database-short\n  A test\n" is 27 bytes; "café" has a two-byte é.
    const meta = '00-database-short\n  A test\n';
    const cafe = 'café\n  A small restaurant.\n';
    const zebra = 'zebra\n  A striped horse.\n';
    const data = meta + cafe + zebra;
    const at = (s: string) => Buffer.byteLength(data.slice(0, data.indexOf(s)));
    assert.equal(at(cafe), 27); // "b" = 27
    assert.equal(Buffer.byteLength(cafe), 28); // "c" = 28
    assert.equal(at(zebra), 55); // "3" = 55
    assert.equal(Buffer.byteLength(zebra), 25); // "Z" = 25
    writeFileSync(join(dir, 'mini.dict.dz'), gzipSync(Buffer.from(data)));
    // Not in offset order: the index order is what counts. "cafe" points at the same entry.
    writeFileSync(join(dir, 'mini.index'), 'zebra\t3\tZ\n00-database-short\tA\tb\ncafé\tb\tc\ncafe\tb\tc\n');
    const entries = readDictd('mini', dir);
    assert.deepEqual(
      entries.map((e) => e.headword),
      ['zebra', 'café', 'cafe'],
    );
    assert.equal(entries[0]!.text, zebra);
    assert.equal(entries[1]!.text, cafe);
    assert.deepEqual([entries[1]!.offset, entries[1]!.length], [27, 28]);
    assert.deepEqual(
      uniqueEntries(entries).map((e) => e.headword),
      ['zebra', 'café'],
    );
    assert.deepEqual(readDictdHeadwords('mini', dir), ['zebra', 'café', 'cafe']);
    // A range past the end of the data is an error, not a silent truncation.
    writeFileSync(join(dir, 'mini.index'), 'zebra\t3\tBA\n');
    assert.throws(() => readDictd('mini', dir), /runs past the end/);
  });
});

test('the installed Jargon File reads as entries with headword lines', {
  skip: !dictdAvailable('jargon') && 'dict-jargon is not installed',
}, () => {
  const entries = readDictd('jargon');
  assert.ok(entries.length > 2000, `${entries.length} entries`);
  assert.ok(entries.every((e) => !e.headword.startsWith('00-database')));
  const kluge = entries.find((e) => e.headword === 'kluge');
  assert.ok(kluge);
  assert.ok(kluge.text.startsWith('kluge\n'));
  assert.match(kluge.text, /Rube Goldberg/);
});
