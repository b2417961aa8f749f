// Reads dictd databases (NAME.index + NAME.dict.dz) that Debian's dict-* packages install. Lethe
// builds its benchmark text from them because no model or data set can be downloaded.
import { isAscii } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LetheError } from '../util/errors.js';

export const DICTD_DIR = '/usr/share/dictd';

/** dictd database name → the Debian package that installs it. */
export const DICT_PACKAGES: Readonly<Record<string, string>> = {
  jargon: 'dict-jargon',
  devil: 'dict-devil',
  gcide: 'dict-gcide',
  elements: 'dict-elements',
};

export interface DictdEntry {
  /** The headword as the index spells it (some databases lowercase it). */
  headword: string;
  /** The entry's text, decoded as UTF-8. */
  text: string;
  /** Byte offset and length in the uncompressed .dict; several headwords may share one entry. */
  offset: number;
  length: number;
}

export interface ReadDictdOptions {
  /** Who needs the database, for the error message, e.g. "the book suite". */
  neededBy?: string;
}

const BASE64_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// Digit value by char code (-1: not a digit); a table because GCIDE has ~400k numbers to decode.
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64_DIGITS.length; i++) BASE64_VALUE[BASE64_DIGITS.charCodeAt(i)] = i;

/** Decodes a dictd index number: base-64 digits `A-Za-z0-9+/`, most significant first ("Ph" = 993). */
export function decodeDictdNumber(digits: string): number {
  if (!digits) throw new LetheError('BAD_INPUT', 'dictd: empty base64 number');
  let value = 0;
  for (let i = 0; i < digits.length; i++) {
    const code = digits.charCodeAt(i);
    const d = code < 128 ? BASE64_VALUE[code]! : -1;
    if (d < 0) throw new LetheError('BAD_INPUT', `dictd: bad base64 digit '${digits[i]}' in '${digits}'`);
    value = value * 64 + d;
  }
  if (!Number.isSafeInteger(value)) throw new LetheError('BAD_INPUT', `dictd: base64 number '${digits}' is too large`);
  return value;
}

/** Metadata entries (database name, URL, licence text) that every dictd database carries. */
export function isDictdMetadata(headword: string): boolean {
  return /^00-?database/i.test(headword) || /^00-(gcide|web1913)-/i.test(headword);
}

/** Whether database `name` (NAME.index and NAME.dict.dz or NAME.dict) is installed in `dir`. */
export function dictdAvailable(name: string, dir = DICTD_DIR): boolean {
  return existsSync(join(dir, `${name}.index`)) && (existsSync(join(dir, `${name}.dict.dz`)) || existsSync(join(dir, `${name}.dict`)));
}

function missingError(name: string, file: string, neededBy: string): LetheError {
  const pkg = DICT_PACKAGES[name] ?? `dict-${name}`;
  return new LetheError('NOT_FOUND', `${neededBy} needs ${file} (Debian package ${pkg}): apt-get install ${pkg}`);
}

/** The uncompressed .dict bytes (dictzip is gzip-compatible, so one gunzip of the whole file). */
export function readDictdData(name: string, dir = DICTD_DIR, options: ReadDictdOptions = {}): Buffer {
  const neededBy = options.neededBy ?? 'this data build';
  const dz = join(dir, `${name}.dict.dz`);
  const plain = join(dir, `${name}.dict`);
  if (existsSync(dz)) return gunzipSync(readFileSync(dz));
  if (existsSync(plain)) return readFileSync(plain);
  throw missingError(name, dz, neededBy);
}

/**
 * All entries of dictd database `name`, in index order, metadata skipped. Headwords that share an
 * entry share one decoded string (GCIDE has ~200k headwords for ~126k entries).
 */
export function readDictd(name: string, dir = DICTD_DIR, options: ReadDictdOptions = {}): DictdEntry[] {
  const neededBy = options.neededBy ?? 'this data build';
  const indexPath = join(dir, `${name}.index`);
  if (!existsSync(indexPath)) throw missingError(name, indexPath, neededBy);
  const data = readDictdData(name, dir, options);
  const index = readFileSync(indexPath, 'utf8');
  // ASCII data (GCIDE) is decoded once and sliced: byte offsets are then string offsets.
  const whole = isAscii(data) ? data.toString('latin1') : undefined;
  const textByRange = new Map<string, string>();
  const entries: DictdEntry[] = [];
  let lineNo = 0;
  for (const line of index.split('\n')) {
    lineNo++;
    if (!line) continue;
    const parts = line.split('\t');
    if (parts.length < 3) throw new LetheError('BAD_INPUT', `dictd: ${indexPath}:${lineNo}: expected 'headword<TAB>offset<TAB>length'`);
    const headword = parts[0]!;
    if (isDictdMetadata(headword)) continue;
    const offset = decodeDictdNumber(parts[1]!);
    const length = decodeDictdNumber(parts[2]!);
    if (offset + length > data.length) {
      throw new LetheError(
        'BAD_INPUT',
        `dictd: ${indexPath}:${lineNo}: entry '${headword}' runs past the end of the data (${offset}+${length} > ${data.length})`,
      );
    }
    const range = `${offset}:${length}`;
    let text = textByRange.get(range);
    if (text === undefined) {
      text = whole !== undefined ? whole.slice(offset, offset + length) : data.toString('utf8', offset, offset + length);
      textByRange.set(range, text);
    }
    entries.push({ headword, text, offset, length });
  }
  return entries;
}

/** Entries once each (the first headword that points at them), in index order. */
export function uniqueEntries(entries: readonly DictdEntry[]): DictdEntry[] {
  const seen = new Set<string>();
  const out: DictdEntry[] = [];
  for (const e of entries) {
    const key = `${e.offset}:${e.length}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** Only the headwords of `name` (reads the index, not the data), metadata skipped. */
export function readDictdHeadwords(name: string, dir = DICTD_DIR, options: ReadDictdOptions = {}): string[] {
  const indexPath = join(dir, `${name}.index`);
  if (!existsSync(indexPath)) throw missingError(name, indexPath, options.neededBy ?? 'this data build');
  const headwords: string[] = [];
  for (const line of readFileSync(indexPath, 'utf8').split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    const headword = line.slice(0, tab);
    if (!isDictdMetadata(headword)) headwords.push(headword);
  }
  return headwords;
}
