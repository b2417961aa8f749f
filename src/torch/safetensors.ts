// Safetensors (Hugging Face's weight format): an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, __metadata__?}, then the raw bytes. The header is checked
// here with messages that name the file and the tensor; the bytes move natively, file → tensor.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { native, type NativeHandle } from './native.js';
import { Tensor } from './tensor.js';
import { DTYPE_SIZE, isFloatingDtype, type DType, type Device } from './types.js';
import { LetheError } from '../util/errors.js';

const FROM_FILE: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const TO_FILE: Record<DType, string> = Object.fromEntries(Object.entries(FROM_FILE).map(([k, v]) => [v, k])) as Record<DType, string>;
// Valid in the format, absent from libtorch (1.13 lacks them all; some came later).
const NOT_IN_LIBTORCH = new Set(['F8_E4M3', 'F8_E5M2', 'U16', 'U32', 'U64', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);
/** The safetensors library refuses headers above 100 MB; so do we, before allocating anything. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range within the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** File offset of the data section. */
  dataStart: number;
}

function bad(path: string, what: string): LetheError {
  return new LetheError('BAD_CHECKPOINT', `safetensors file ${path}: ${what}`);
}

/** Top-level keys of a JSON object text, in order, duplicates included (JSON.parse drops them). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/**
 * Sets an own, enumerable property. Tensor and metadata names come from files and callers, so a
 * name like '__proto__' must become a key, not replace the object's prototype (as `o[k] = v` would).
 */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Reads and validates the header only. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw bad(path, `is ${size} bytes, too short to hold the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(size - 8)) throw bad(path, `header length ${headerLen} runs past the end of the file (${size} bytes)`);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) throw bad(path, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const n = Number(headerLen);
    const raw = Buffer.alloc(n);
    readSync(fd, raw, 0, n, 8);
    return parseHeader(path, raw, 8 + n, size - 8 - n);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(path: string, raw: Buffer, dataStart: number, dataLen: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw bad(path, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(path, `header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad(path, 'header must be a JSON object');
  const obj = json as Record<string, unknown>;
  const keys = topLevelKeys(text.trimEnd());
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw bad(path, `tensor name '${k}' appears twice in the header`);
    seen.add(k);
  }
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(obj)) {
    if (name === '__metadata__') {
      // null is "no metadata" to the reference implementation (an Option in Rust's safetensors).
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw bad(path, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw bad(path, `__metadata__['${k}'] must be a string, got ${typeof v}`);
        setOwn(metadata, k, v);
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object' || Array.isArray(e))
      throw bad(path, `entry '${name}' must be an object with dtype, shape and data_offsets`);
    if (typeof e.dtype !== 'string') throw bad(path, `tensor '${name}': dtype must be a string`);
    const dtype = FROM_FILE[e.dtype];
    if (!dtype) {
      if (NOT_IN_LIBTORCH.has(e.dtype))
        throw bad(path, `tensor '${name}': dtype ${e.dtype} is valid safetensors but this libtorch has no such type`);
      throw bad(path, `tensor '${name}': unknown dtype '${e.dtype}' (expected one of ${Object.keys(FROM_FILE).join(', ')})`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every(isCount))
      throw bad(path, `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isCount)) {
      throw bad(path, `tensor '${name}': data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) throw bad(path, `tensor '${name}': data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLen) throw bad(path, `tensor '${name}': data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data section`);
    const shape = e.shape as number[];
    const numel = shape.reduce((a, b) => a * b, 1);
    const bytes = numel * DTYPE_SIZE[dtype];
    if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
      throw bad(
        path,
        `tensor '${name}': shape [${shape}] of ${e.dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin < cursor) throw bad(path, `tensor '${e.name}' at bytes [${e.begin}, ${e.end}] overlaps the tensor before it`);
    if (e.begin > cursor) throw bad(path, `bytes [${cursor}, ${e.begin}) before tensor '${e.name}' belong to no tensor`);
    cursor = e.end;
  }
  if (cursor !== dataLen) throw bad(path, `the data section holds ${dataLen} bytes but the tensors cover ${cursor}`);
  return { entries, metadata, dataStart };
}

export interface LoadOptions {
  device?: Device;
  /** Convert floating-point tensors to this dtype (integer tensors are left alone). */
  dtype?: DType;
  /** Load only these tensors. */
  names?: string[];
}

/** Loads every tensor (or `names`) of a safetensors file. */
export function loadSafetensors(
  path: string,
  options: LoadOptions = {},
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const header = readSafetensorsHeader(path);
  let entries = header.entries;
  if (options.names) {
    const byName = new Map(entries.map((e) => [e.name, e]));
    // A name asked for twice is loaded once (a second copy would be unreachable, never disposed).
    entries = [...new Set(options.names)].map((n) => {
      const e = byName.get(n);
      if (!e) throw bad(path, `has no tensor '${n}'`);
      return e;
    });
  }
  const handles: NativeHandle[] = native.safetensorsRead(
    path,
    header.dataStart,
    entries.map((e) => [e.dtype, e.shape, e.begin, e.end]),
  );
  const loaded = handles.map((h) => new Tensor(h));
  const tensors: Record<string, Tensor> = {};
  try {
    entries.forEach((e, k) => {
      let t = loaded[k]!;
      const floating = isFloatingDtype(e.dtype);
      if ((options.dtype && floating && options.dtype !== e.dtype) || (options.device && options.device !== 'cpu')) {
        const moved = t.to({ dtype: floating ? options.dtype : undefined, device: options.device });
        t.dispose();
        t = moved;
        loaded[k] = moved;
      }
      setOwn(tensors, e.name, t);
    });
  } catch (err) {
    // E.g. a CUDA device that is not there: free what was loaded rather than leave it to the GC.
    for (const t of loaded) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Writes tensors (and string metadata) as safetensors, atomically: a temporary file in the same
 * folder, fsynced, then renamed over `path`. Layout as the Python library writes it: larger
 * dtypes first, then by name; the header padded with spaces to 8 bytes.
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const names = Object.keys(tensors);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`saveSafetensors: metadata['${k}'] must be a string, got ${typeof v}`);
  }
  for (const n of names) {
    const t = tensors[n];
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors: '${n}' is not a Tensor`);
    if (t.isDisposed) throw new Error(`saveSafetensors: tensor '${n}' was disposed`);
    if (n === '__metadata__') throw new Error("saveSafetensors: '__metadata__' is reserved and cannot name a tensor");
  }
  const info = names.map((n) => ({ name: n, t: tensors[n]!, dtype: tensors[n]!.dtype, shape: tensors[n]!.shape }));
  info.sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const e of info) {
    const bytes = e.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[e.dtype];
    setOwn(header, e.name, { dtype: TO_FILE[e.dtype], shape: e.shape, data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json);
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(out, 8);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    native.safetensorsWrite(
      tmp,
      new Uint8Array(out.buffer, out.byteOffset, out.length),
      info.map((e) => e.t.handle),
    );
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
