// Safetensors reader/writer: Hugging Face fixtures against independently read values, exact
// write → read round trips for every dtype, the on-disk layout, atomic replacement, and
// malformed files that must fail with a clear Error (no crash, no huge allocation, no leak).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { torch, type Tensor } from '../../src/index.js';
import { requireFixture, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { withoutLeaks } from '../helpers/leaks.js';

const tmp = tempDir('lethe-safetensors-');

/** A tensor's elements as a plain array (bigint for int64). */
function elements(t: Tensor): Array<number | bigint> {
  return Array.from(t.data() as ArrayLike<number | bigint>);
}

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** Elementwise Object.is, so NaN matches NaN and -0 does not match 0. */
function assertSameValues(actual: ArrayLike<number | bigint>, expected: ArrayLike<number | bigint>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let k = 0; k < expected.length; k++) {
    assert.ok(Object.is(actual[k], expected[k]), `${what}[${k}] = ${String(actual[k])}, expected ${String(expected[k])}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hugging Face fixtures. The expected numbers (ref/safetensors_reference.json) were read INDEPENDENTLY
// of this project by ref/make_safetensors_reference.py (/usr/bin/python3): struct + json +
// numpy.frombuffer(dtype='<f4') only (no torch, no safetensors, no Lethe code): the file size, the
// header length, the sorted tensor names, __metadata__, and for a few tensors the shape and the
// first and last 3 elements. float32 → double is exact, so the values must match exactly.
// ---------------------------------------------------------------------------------------------

interface FixtureTensor {
  name: string;
  shape: number[];
  first3: number[];
  last3: number[];
}
interface Fixture {
  file: string;
  fileSize: number;
  headerLength: number;
  metadata: Record<string, string>;
  names: string[];
  tensors: FixtureTensor[];
}

const FIXTURES = JSON.parse(readFileSync(requireRepoFixture('torch', 'ref', 'safetensors_reference.json'), 'utf8')) as Fixture[];

for (const fx of FIXTURES) {
  test(`reads ${fx.file} like an independent numpy reader does`, () =>
    withoutLeaks(() => {
      const path = requireFixture(fx.file);
      assert.equal(statSync(path).size, fx.fileSize);

      const header = torch.readSafetensorsHeader(path);
      assert.equal(header.dataStart, 8 + fx.headerLength);
      assert.deepEqual(header.metadata, fx.metadata);
      assert.deepEqual(header.entries.map((e) => e.name).sort(), fx.names);
      const lastEnd = Math.max(...header.entries.map((e) => e.end));
      assert.equal(header.dataStart + lastEnd, fx.fileSize, 'the tensors cover the data section to the end of the file');

      const { tensors, metadata } = torch.loadSafetensors(path);
      try {
        assert.deepEqual(metadata, fx.metadata);
        assert.deepEqual(Object.keys(tensors).sort(), fx.names);
        for (const want of fx.tensors) {
          const t = tensors[want.name];
          assert.ok(t, `tensor ${want.name} is loaded`);
          assert.equal(t.dtype, 'float32', want.name);
          assert.deepEqual(t.shape, want.shape, want.name);
          const data = t.data() as Float32Array;
          assert.equal(
            data.length,
            want.shape.reduce((a, b) => a * b, 1),
            `${want.name} element count`,
          );
          assertSameValues(Array.from(data.subarray(0, 3)), want.first3, `${want.name} first 3`);
          assertSameValues(Array.from(data.subarray(data.length - 3)), want.last3, `${want.name} last 3`);
        }
      } finally {
        disposeAll(tensors);
      }
    }));
}

// ---------------------------------------------------------------------------------------------
// A second, independent reader for files we write, doing what numpy.frombuffer would: the 8-byte
// little-endian length, JSON.parse, then the bytes decoded by hand (little-endian DataView;
// float16/bfloat16 bit patterns decoded here, not by libtorch).
// ---------------------------------------------------------------------------------------------

interface RawEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}
interface RawFile {
  headerLength: number;
  header: Record<string, unknown>;
  data: Buffer;
}

function readRaw(path: string): RawFile {
  const buf = readFileSync(path);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const headerText = buf.subarray(8, 8 + headerLength).toString('utf8');
  return { headerLength, header: JSON.parse(headerText) as Record<string, unknown>, data: buf.subarray(8 + headerLength) };
}

function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  if (exp === 0) return sign * frac * 2 ** -24;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeBfloat16(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** The elements of one tensor as numbers (bigint for I64), decoded from its raw bytes. */
function decodeRaw(raw: RawFile, name: string): Array<number | bigint> {
  const e = raw.header[name] as RawEntry;
  const [begin, end] = e.data_offsets;
  const view = new DataView(raw.data.buffer, raw.data.byteOffset + begin, end - begin);
  const read: Record<string, [number, (at: number) => number | bigint]> = {
    F64: [8, (at) => view.getFloat64(at, true)],
    F32: [4, (at) => view.getFloat32(at, true)],
    F16: [2, (at) => decodeFloat16(view.getUint16(at, true))],
    BF16: [2, (at) => decodeBfloat16(view.getUint16(at, true))],
    I64: [8, (at) => view.getBigInt64(at, true)],
    I32: [4, (at) => view.getInt32(at, true)],
    I16: [2, (at) => view.getInt16(at, true)],
    I8: [1, (at) => view.getInt8(at)],
    U8: [1, (at) => view.getUint8(at)],
    BOOL: [1, (at) => view.getUint8(at)],
  };
  const [size, get] = read[e.dtype]!;
  // What numpy.frombuffer(...).reshape(shape) needs: the span holds exactly shape's elements.
  assert.equal(e.shape.reduce((a, b) => a * b, 1) * size, end - begin, `${name}: shape matches the byte span`);
  const out: Array<number | bigint> = [];
  for (let at = 0; at < end - begin; at += size) out.push(get(at));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Write → read round trips.
// ---------------------------------------------------------------------------------------------

const F32_MAX = 3.4028234663852886e38;
const BF16_MAX = 3.3895313892515355e38; // 0x7F7F
const SPECIALS = [NaN, Infinity, -Infinity];
/** Per dtype: the safetensors dtype string and values that dtype holds exactly (extremes included). */
const ROUND_TRIPS: Array<{ dtype: torch.DType; file: string; values: number[] | bigint[] }> = [
  {
    dtype: 'float64',
    file: 'F64',
    values: [0, -0, 0.1, -1 / 3, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** -1022, ...SPECIALS],
  },
  { dtype: 'float32', file: 'F32', values: [0, -0, 1.5, Math.fround(-0.1), F32_MAX, -F32_MAX, 2 ** -126, 2 ** -149, ...SPECIALS] },
  { dtype: 'float16', file: 'F16', values: [0, -0, 1.5, -2.25, 65504, -65504, 2 ** -14, 2 ** -24, 0.333251953125, ...SPECIALS] },
  { dtype: 'bfloat16', file: 'BF16', values: [0, -0, 1.5, -2.25, BF16_MAX, -BF16_MAX, 2 ** -126, 2 ** -133, 0.333984375, ...SPECIALS] },
  // 2^53 + 1 has no double: it survives only if int64 never passes through a JS number.
  { dtype: 'int64', file: 'I64', values: [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 2n ** 53n + 1n] },
  { dtype: 'int32', file: 'I32', values: [-(2 ** 31), 2 ** 31 - 1, 0, -1, 123456789] },
  { dtype: 'int16', file: 'I16', values: [-32768, 32767, 0, -1, 12345] },
  { dtype: 'int8', file: 'I8', values: [-128, 127, 0, -1, 42] },
  { dtype: 'uint8', file: 'U8', values: [0, 255, 1, 128, 254] },
  { dtype: 'bool', file: 'BOOL', values: [1, 0, 1, 1, 0] },
];

function makeTensor(rt: (typeof ROUND_TRIPS)[number]): Tensor {
  if (rt.dtype === 'int64') return torch.tensor(BigInt64Array.from(rt.values as bigint[]));
  if (rt.dtype === 'bool') return torch.tensor((rt.values as number[]).map((v) => v === 1));
  return torch.tensor(rt.values as number[], { dtype: rt.dtype });
}

for (const rt of ROUND_TRIPS) {
  test(`${rt.dtype} round-trips exactly`, () =>
    withoutLeaks(() => {
      const path = join(tmp, `roundtrip-${rt.dtype}.safetensors`);
      const t = makeTensor(rt);
      assert.equal(t.dtype, rt.dtype);
      assertSameValues(elements(t), rt.values, `${rt.dtype} before saving`);
      torch.saveSafetensors(path, { x: t });
      t.dispose();

      const { tensors } = torch.loadSafetensors(path);
      try {
        assert.deepEqual(Object.keys(tensors), ['x']);
        assert.equal(tensors.x!.dtype, rt.dtype);
        assert.deepEqual(tensors.x!.shape, [rt.values.length]);
        assertSameValues(elements(tensors.x!), rt.values, `${rt.dtype} after loading`);
      } finally {
        disposeAll(tensors);
      }
      const raw = readRaw(path);
      assert.equal((raw.header.x as RawEntry).dtype, rt.file);
      assertSameValues(decodeRaw(raw, 'x'), rt.values, `${rt.dtype} decoded from the file's bytes`);
    }));
}

test('every dtype in one file: our loader and the independent byte decoder agree', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'all-dtypes.safetensors');
    const saved: Record<string, Tensor> = {};
    for (const rt of ROUND_TRIPS) saved[`t_${rt.dtype}`] = makeTensor(rt);
    saved.matrix = torch.randn([3, 4, 5]);
    torch.saveSafetensors(path, saved);

    const raw = readRaw(path);
    const { tensors } = torch.loadSafetensors(path);
    try {
      assert.deepEqual(Object.keys(tensors).sort(), Object.keys(saved).sort());
      for (const rt of ROUND_TRIPS) {
        const name = `t_${rt.dtype}`;
        assert.equal((raw.header[name] as RawEntry).dtype, rt.file, `${name} dtype string`);
        assertSameValues(decodeRaw(raw, name), rt.values, `${name} (bytes)`);
        assertSameValues(elements(tensors[name]!), rt.values, `${name} (loaded)`);
      }
      assert.deepEqual((raw.header.matrix as RawEntry).shape, [3, 4, 5]);
      assert.ok(torch.equal(tensors.matrix!, saved.matrix));
      assertSameValues(decodeRaw(raw, 'matrix'), elements(saved.matrix), 'matrix (bytes, row-major)');
    } finally {
      disposeAll(tensors);
      disposeAll(saved);
    }
  }));

test('a non-contiguous view is written in row-major order', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'transposed.safetensors');
    const base = torch.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'float32' },
    );
    const transposed = base.transpose(0, 1);
    assert.equal(transposed.isContiguous(), false);
    torch.saveSafetensors(path, { w: transposed });
    const { tensors } = torch.loadSafetensors(path);
    assert.deepEqual(tensors.w!.shape, [3, 2]);
    assert.deepEqual(tensors.w!.toArray(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    disposeAll(tensors);
    transposed.dispose();
    base.dispose();
  }));

test('metadata round-trips; no metadata writes no __metadata__ key', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'metadata.safetensors');
    const metadata = { format: 'pt', empty: '', 'ключ ✓': 'значение ✓', 'quote"and\\slash': 'line\nbreak\ttab', '{': '}' };
    const t = torch.tensor([1, 2], { dtype: 'float32' });
    torch.saveSafetensors(path, { t }, metadata);
    assert.deepEqual(torch.readSafetensorsHeader(path).metadata, metadata);
    const loaded = torch.loadSafetensors(path);
    assert.deepEqual(loaded.metadata, metadata);
    assert.deepEqual(Object.keys(loaded.tensors), ['t']);
    disposeAll(loaded.tensors);
    assert.deepEqual(readRaw(path).header.__metadata__, metadata);

    torch.saveSafetensors(path, { t });
    assert.equal('__metadata__' in readRaw(path).header, false);
    assert.deepEqual(torch.loadSafetensors(path, { names: [] }).metadata, {});
    t.dispose();
  }));

test('empty tensors and 0-dim scalars round-trip', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'shapes.safetensors');
    const saved: Record<string, Tensor> = {
      empty_rows: torch.tensor([], { dtype: 'float32', shape: [0, 3] }),
      empty_cols: torch.tensor(new BigInt64Array(0), { shape: [2, 0] }),
      scalar_f64: torch.tensor(-2.5, { dtype: 'float64' }),
      scalar_i32: torch.tensor(-7, { dtype: 'int32' }),
      scalar_bool: torch.tensor(true),
    };
    torch.saveSafetensors(path, saved);
    const raw = readRaw(path);
    assert.deepEqual((raw.header.empty_rows as RawEntry).shape, [0, 3]);
    assert.equal((raw.header.empty_rows as RawEntry).data_offsets[0], (raw.header.empty_rows as RawEntry).data_offsets[1]);
    assert.deepEqual((raw.header.scalar_f64 as RawEntry).shape, []);
    assert.equal(raw.data.length, 8 + 4 + 1, 'only the scalars take bytes');

    const { tensors } = torch.loadSafetensors(path);
    try {
      assert.deepEqual(tensors.empty_rows!.shape, [0, 3]);
      assert.equal(tensors.empty_rows!.dtype, 'float32');
      assert.deepEqual(tensors.empty_cols!.shape, [2, 0]);
      assert.equal(tensors.empty_cols!.dtype, 'int64');
      for (const name of ['scalar_f64', 'scalar_i32', 'scalar_bool']) assert.deepEqual(tensors[name]!.shape, [], name);
      assert.equal(tensors.scalar_f64!.toArray(), -2.5);
      assert.equal(tensors.scalar_i32!.toArray(), -7);
      assert.equal(tensors.scalar_i32!.dtype, 'int32');
      assert.equal(tensors.scalar_bool!.toArray(), true);
    } finally {
      disposeAll(tensors);
      disposeAll(saved);
    }
  }));

test('the file layout is the safetensors layout', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'layout.safetensors');
    // A two-byte UTF-8 name checks that the padding counts bytes, not characters.
    const saved: Record<string, Tensor> = {
      'b.weight': torch.tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        { dtype: 'float32' },
      ),
      a: torch.tensor([1, 2, 3, 4, 5], { dtype: 'int8' }),
      c: torch.tensor([0.5], { dtype: 'float64' }),
      é: torch.tensor([1, 2, 3], { dtype: 'float16' }),
    };
    torch.saveSafetensors(path, saved, { format: 'pt' });
    disposeAll(saved);

    const buf = readFileSync(path);
    const headerLength = Number(buf.readBigUInt64LE(0));
    assert.equal(headerLength % 8, 0, 'header length is a multiple of 8');
    const headerText = buf.subarray(8, 8 + headerLength).toString('utf8');
    const json = headerText.trimEnd();
    assert.ok(json.startsWith('{') && json.endsWith('}'), 'the header is one JSON object');
    const padding = headerText.slice(json.length);
    assert.match(padding, /^ {0,7}$/, 'padded with spaces only');
    assert.equal(padding.length, (8 - (Buffer.byteLength(json) % 8)) % 8, 'padded to the next multiple of 8, no further');

    // As the Python library lays it out: larger dtypes first, then by name; offsets contiguous from 0.
    const header = JSON.parse(json) as Record<string, RawEntry>;
    assert.deepEqual(header.__metadata__, { format: 'pt' });
    const expected: Array<[string, string, number[], [number, number]]> = [
      ['c', 'F64', [1], [0, 8]],
      ['b.weight', 'F32', [2, 3], [8, 32]],
      ['é', 'F16', [3], [32, 38]],
      ['a', 'I8', [5], [38, 43]],
    ];
    for (const [name, dtype, shape, offsets] of expected) {
      assert.deepEqual(header[name], { dtype, shape, data_offsets: offsets }, name);
    }
    assert.equal(buf.length, 8 + headerLength + 43, 'no bytes after the last tensor');
    assert.equal(torch.readSafetensorsHeader(path).dataStart, 8 + headerLength);
    // The data bytes themselves, little-endian: 0.5 as F64, then 1..6 as F32.
    assert.equal(buf.readDoubleLE(8 + headerLength), 0.5);
    assert.equal(buf.readFloatLE(8 + headerLength + 8 + 5 * 4), 6);
    assert.deepEqual([...buf.subarray(8 + headerLength + 38)], [1, 2, 3, 4, 5]);
  }));

test('saving over a file replaces it atomically and leaves no temp files', () =>
  withoutLeaks(() => {
    const dir = join(tmp, 'overwrite');
    mkdirSync(dir);
    const path = join(dir, 'model.safetensors');
    const big = torch.randn([64, 64]);
    const small = torch.tensor([1, 2, 3], { dtype: 'int32' });
    torch.saveSafetensors(path, { big, extra: small }, { version: '1' });
    torch.saveSafetensors(path, { small }, { version: '2' });
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);

    const check = (): void => {
      const { tensors, metadata } = torch.loadSafetensors(path);
      assert.deepEqual(metadata, { version: '2' });
      assert.deepEqual(Object.keys(tensors), ['small']);
      assert.deepEqual(tensors.small!.toArray(), [1, 2, 3]);
      disposeAll(tensors);
    };
    check();
    const sizeAfterSecondSave = statSync(path).size;
    assert.equal(sizeAfterSecondSave, 8 + readRaw(path).headerLength + 12, 'the old, longer contents are gone');

    // A failed save must leave the previous file as it was, and no temp file behind.
    const gone = torch.tensor([1]);
    gone.dispose();
    assert.throws(() => torch.saveSafetensors(path, { gone }), /tensor 'gone' was disposed/);
    assert.throws(() => torch.saveSafetensors(path, { __metadata__: small }), /'__metadata__' is reserved/);
    // Renaming onto a folder fails after the temp file is written: the temp file must be removed.
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    assert.throws(
      () => torch.saveSafetensors(folder, { small }),
      (err: unknown) => err instanceof Error,
    );
    assert.throws(() => torch.saveSafetensors(join(dir, 'missing', 'x.safetensors'), { small }), /cannot create/);
    assert.deepEqual(readdirSync(dir).sort(), ['a-folder', 'model.safetensors']);
    assert.deepEqual(readdirSync(folder), []);
    check();
    big.dispose();
    small.dispose();
  }));

test('names are data: a tensor named __proto__ round-trips as an ordinary key', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'proto.safetensors');
    const t = torch.tensor([1, 2], { dtype: 'float32' });
    const u = torch.tensor([3], { dtype: 'float32' });
    const saved = Object.fromEntries([
      ['__proto__', t],
      ['u', u],
    ]) as Record<string, Tensor>;
    torch.saveSafetensors(path, saved);
    assert.deepEqual(Object.keys(readRaw(path).header).sort(), ['__proto__', 'u']);
    const { tensors } = torch.loadSafetensors(path);
    assert.deepEqual(Object.keys(tensors).sort(), ['__proto__', 'u']);
    assert.equal(Object.getPrototypeOf(tensors), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.toArray(), [1, 2]);
    disposeAll(tensors);
    t.dispose();
    u.dispose();
  }));

const malformedDir = join(tmp, 'malformed');
mkdirSync(malformedDir);

/** Writes a hand-made file: `length` (default: the header's byte length) as 8 LE bytes, the header, the data. */
function writeMalformed(name: string, header: string | Buffer, data: Buffer | number = 0, length?: bigint): string {
  const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(headerBytes.length));
  const path = join(malformedDir, `${name}.safetensors`);
  writeFileSync(path, Buffer.concat([prefix, headerBytes, typeof data === 'number' ? Buffer.alloc(data) : data]));
  return path;
}

// ---------------------------------------------------------------------------------------------
// Load options.
// ---------------------------------------------------------------------------------------------

test('names: loads just those tensors, and rejects a name the file lacks', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'names.safetensors');
    const saved: Record<string, Tensor> = {
      a: torch.tensor([1, 2], { dtype: 'float32' }),
      b: torch.tensor([3, 4, 5], { dtype: 'int16' }),
      c: torch.tensor([[6]], { dtype: 'float64' }),
    };
    torch.saveSafetensors(path, saved);
    disposeAll(saved);

    const { tensors } = torch.loadSafetensors(path, { names: ['c', 'b'] });
    assert.deepEqual(Object.keys(tensors).sort(), ['b', 'c']);
    assert.deepEqual(tensors.b!.toArray(), [3, 4, 5]);
    assert.deepEqual(tensors.c!.toArray(), [[6]]);
    disposeAll(tensors);

    // A name asked for twice is loaded once (a second copy would leak: withoutLeaks checks).
    const twice = torch.loadSafetensors(path, { names: ['a', 'a'] }).tensors;
    assert.deepEqual(Object.keys(twice), ['a']);
    disposeAll(twice);

    withoutLeaks(
      () => assert.throws(() => torch.loadSafetensors(path, { names: ['a', 'nope'] }), /has no tensor 'nope'/),
      'a failed load leaves nothing alive',
    );
  }));

test('device: loads onto CUDA when there is one; otherwise fails without leaking', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'device.safetensors');
    const saved = { a: torch.tensor([1, 2], { dtype: 'float32' }), b: torch.tensor([3], { dtype: 'int64' }) };
    torch.saveSafetensors(path, saved);
    disposeAll(saved);
    if (torch.cuda.isAvailable()) {
      const { tensors } = torch.loadSafetensors(path, { device: 'cuda', dtype: 'float64' });
      assert.match(tensors.a!.device, /^cuda/);
      assert.equal(tensors.a!.dtype, 'float64');
      assert.equal(tensors.b!.dtype, 'int64');
      assert.deepEqual(tensors.a!.toArray(), [1, 2]);
      disposeAll(tensors);
    } else {
      assert.throws(
        () => torch.loadSafetensors(path, { device: 'cuda' }),
        (err: unknown) => err instanceof Error,
      );
    }
  }));

test("a hand-written file in another writer's style loads", () =>
  withoutLeaks(() => {
    // Keys not in offset order, a zero-size tensor between two others, whitespace and newlines in
    // the JSON, and "__metadata__": null (which the reference Rust reader takes as no metadata).
    const data = Buffer.alloc(4 + 2);
    data.writeFloatLE(-1.5, 0);
    data.writeInt16LE(-300, 4);
    const header = `{
  "last": {"dtype": "I16", "shape": [1], "data_offsets": [4, 6]},
  "__metadata__": null,
  "nothing": {"dtype": "F64", "shape": [0, 7], "data_offsets": [4, 4]},
  "first": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}
}`;
    const path = writeMalformed('valid-handwritten', header, data);
    const { tensors, metadata } = torch.loadSafetensors(path);
    assert.deepEqual(metadata, {});
    assert.deepEqual(Object.keys(tensors).sort(), ['first', 'last', 'nothing']);
    assert.equal(tensors.first!.toArray(), -1.5);
    assert.deepEqual(tensors.last!.toArray(), [-300]);
    assert.deepEqual(tensors.nothing!.shape, [0, 7]);
    disposeAll(tensors);
  }));

test('dtype: converts floating tensors and leaves integer and bool tensors alone', () =>
  withoutLeaks(() => {
    const path = join(tmp, 'convert.safetensors');
    const saved: Record<string, Tensor> = {
      f32: torch.tensor([1.5, -0.25], { dtype: 'float32' }),
      f16: torch.tensor([65504, -0], { dtype: 'float16' }),
      bf16: torch.tensor([BF16_MAX, 0.333984375], { dtype: 'bfloat16' }),
      f64: torch.tensor([0.1], { dtype: 'float64' }),
      i32: torch.tensor([-(2 ** 31), 7], { dtype: 'int32' }),
      u8: torch.tensor([255, 0], { dtype: 'uint8' }),
      flag: torch.tensor([true, false]),
    };
    torch.saveSafetensors(path, saved);
    disposeAll(saved);

    const { tensors } = torch.loadSafetensors(path, { dtype: 'float64' });
    try {
      const dtypes = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.dtype]));
      assert.deepEqual(dtypes, {
        f32: 'float64',
        f16: 'float64',
        bf16: 'float64',
        f64: 'float64',
        i32: 'int32',
        u8: 'uint8',
        flag: 'bool',
      });
      assertSameValues(elements(tensors.f32!), [1.5, -0.25], 'f32');
      assertSameValues(elements(tensors.f16!), [65504, -0], 'f16');
      assertSameValues(elements(tensors.bf16!), [BF16_MAX, 0.333984375], 'bf16');
      assertClose(tensors.f64!.toArray(), [0.1], { atol: 0, rtol: 0 });
      assert.deepEqual(tensors.i32!.toArray(), [-(2 ** 31), 7]);
      assert.deepEqual(tensors.u8!.toArray(), [255, 0]);
      assert.deepEqual(tensors.flag!.toArray(), [true, false]);
    } finally {
      disposeAll(tensors);
    }
  }));

// ---------------------------------------------------------------------------------------------
// Malformed files: each must throw an Error that names the file and the problem, before any
// tensor is made (so liveTensors does not grow) and before any allocation sized by the file.
// ---------------------------------------------------------------------------------------------

const entry = (dtype: string, shape: unknown, offsets: unknown): string => JSON.stringify({ dtype, shape, data_offsets: offsets });

interface Malformed {
  name: string;
  make: () => string;
  error: RegExp;
}

const MALFORMED: Malformed[] = [
  {
    name: 'empty file',
    make: () => {
      const p = join(malformedDir, 'empty.safetensors');
      writeFileSync(p, '');
      return p;
    },
    error: /is 0 bytes, too short/,
  },
  {
    name: 'shorter than 8 bytes',
    make: () => {
      const p = join(malformedDir, 'short.safetensors');
      writeFileSync(p, Buffer.from([2, 0, 0]));
      return p;
    },
    error: /is 3 bytes, too short to hold the 8-byte header length/,
  },
  {
    name: 'header length past the end of the file',
    make: () => writeMalformed('past-end', '{}', 0, 100n),
    error: /header length 100 runs past the end of the file \(10 bytes\)/,
  },
  {
    name: 'header length 2^62',
    make: () => writeMalformed('huge-length', '{}', 0, 2n ** 62n),
    error: /header length 4611686018427387904 runs past the end/,
  },
  {
    name: 'header length 2^64 - 1',
    make: () => writeMalformed('max-length', '{}', 0, 2n ** 64n - 1n),
    error: /header length 18446744073709551615 runs past the end/,
  },
  { name: 'empty header', make: () => writeMalformed('empty-header', ''), error: /header is not valid JSON/ },
  {
    name: 'header not JSON',
    make: () => writeMalformed('not-json', '{"a": {"dtype": "F32",'),
    error: /header is not valid JSON/,
  },
  { name: 'header is a JSON array', make: () => writeMalformed('array', '[]      '), error: /header must be a JSON object/ },
  { name: 'header is JSON null', make: () => writeMalformed('null', 'null'), error: /header must be a JSON object/ },
  { name: 'header is a JSON string', make: () => writeMalformed('string', '"{}"'), error: /header must be a JSON object/ },
  {
    name: 'header is not UTF-8',
    make: () => writeMalformed('not-utf8', Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff, 0xfe]), Buffer.from('":1}')])),
    error: /header is not valid UTF-8/,
  },
  {
    name: 'unknown dtype',
    make: () => writeMalformed('unknown-dtype', `{"w":${entry('F31', [1], [0, 4])}}`, 4),
    error: /tensor 'w': unknown dtype 'F31'/,
  },
  {
    name: 'dtype that libtorch lacks (F8_E4M3)',
    make: () => writeMalformed('f8', `{"w":${entry('F8_E4M3', [4], [0, 4])}}`, 4),
    error: /tensor 'w': dtype F8_E4M3 is valid safetensors but this libtorch has no such type/,
  },
  {
    name: 'dtype not a string',
    make: () => writeMalformed('dtype-number', `{"w":${entry(7 as unknown as string, [1], [0, 4])}}`, 4),
    error: /tensor 'w': dtype must be a string/,
  },
  {
    name: 'entry not an object',
    make: () => writeMalformed('entry-number', '{"w": 5}'),
    error: /entry 'w' must be an object with dtype, shape and data_offsets/,
  },
  {
    name: 'shape x dtype size differs from the byte span',
    make: () => writeMalformed('span', `{"w":${entry('F32', [2, 3], [0, 20])}}`, 20),
    error: /tensor 'w': shape \[2,3\] of F32 needs 24 bytes but data_offsets \[0, 20\] span 20/,
  },
  {
    name: 'shape whose byte size overflows',
    make: () => writeMalformed('overflow', `{"w":${entry('F64', [2 ** 40, 2 ** 40], [0, 8])}}`, 8),
    error: /tensor 'w': shape \[1099511627776,1099511627776\] of F64 needs .* bytes but data_offsets \[0, 8\] span 8/,
  },
  {
    name: 'offsets past the data section',
    make: () => writeMalformed('outside', `{"w":${entry('F32', [4], [0, 16])}}`, 8),
    error: /tensor 'w': data_offsets \[0, 16\] lie outside the 8-byte data section/,
  },
  {
    name: 'begin > end',
    make: () => writeMalformed('reversed', `{"w":${entry('F32', [1], [8, 4])}}`, 8),
    error: /tensor 'w': data_offsets \[8, 4\] end before they begin/,
  },
  {
    name: 'overlapping tensors',
    make: () => writeMalformed('overlap', `{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [2], [4, 12])}}`, 12),
    error: /tensor 'b' at bytes \[4, 12\] overlaps the tensor before it/,
  },
  {
    name: 'a hole between tensors',
    make: () => writeMalformed('hole', `{"a":${entry('F32', [1], [0, 4])},"b":${entry('F32', [1], [8, 12])}}`, 12),
    error: /bytes \[4, 8\) before tensor 'b' belong to no tensor/,
  },
  {
    name: 'trailing bytes after the last tensor',
    make: () => writeMalformed('trailing', `{"a":${entry('F32', [1], [0, 4])}}`, 8),
    error: /the data section holds 8 bytes but the tensors cover 4/,
  },
  {
    name: 'duplicate tensor names',
    make: () => writeMalformed('duplicate', `{"a":${entry('F32', [1], [0, 4])},"a":${entry('F32', [1], [0, 4])}}`, 4),
    error: /tensor name 'a' appears twice in the header/,
  },
  {
    name: 'non-integer shape entry',
    make: () => writeMalformed('shape-fraction', `{"w":${entry('F32', [1.5], [0, 6])}}`, 6),
    error: /tensor 'w': shape must be an array of non-negative integers, got \[1\.5\]/,
  },
  {
    name: 'negative shape entry',
    make: () => writeMalformed('shape-negative', `{"w":${entry('F32', [-1, 2], [0, 8])}}`, 8),
    error: /tensor 'w': shape must be an array of non-negative integers, got \[-1,2\]/,
  },
  {
    name: 'shape not an array',
    make: () => writeMalformed('shape-number', `{"w":${entry('F32', 2, [0, 8])}}`, 8),
    error: /tensor 'w': shape must be an array of non-negative integers, got 2/,
  },
  {
    name: '__metadata__ with a non-string value',
    make: () => writeMalformed('metadata-number', `{"__metadata__":{"epoch":3},"w":${entry('U8', [1], [0, 1])}}`, 1),
    error: /__metadata__\['epoch'\] must be a string, got number/,
  },
  {
    name: '__metadata__ not an object',
    make: () => writeMalformed('metadata-array', `{"__metadata__":["pt"]}`),
    error: /__metadata__ must be an object of strings/,
  },
  {
    name: 'data_offsets with one number',
    make: () => writeMalformed('offsets-one', `{"w":${entry('F32', [1], [4])}}`, 4),
    error: /tensor 'w': data_offsets must be \[begin, end\] non-negative integers, got \[4\]/,
  },
  {
    name: 'data_offsets with three numbers',
    make: () => writeMalformed('offsets-three', `{"w":${entry('F32', [1], [0, 4, 8])}}`, 8),
    error: /tensor 'w': data_offsets must be \[begin, end\]/,
  },
  {
    name: 'negative data_offsets',
    make: () => writeMalformed('offsets-negative', `{"w":${entry('F32', [1], [-4, 0])}}`, 4),
    error: /tensor 'w': data_offsets must be \[begin, end\] non-negative integers, got \[-4,0\]/,
  },
  {
    name: 'data_offsets as strings',
    make: () => writeMalformed('offsets-strings', `{"w":${entry('F32', [1], ['0', '4'])}}`, 4),
    error: /tensor 'w': data_offsets must be \[begin, end\]/,
  },
];

test(`${MALFORMED.length} kinds of malformed file are rejected with a clear Error`, () =>
  withoutLeaks(() => {
    for (const bad of MALFORMED) {
      const path = bad.make();
      const readers = [
        ['loadSafetensors', () => torch.loadSafetensors(path)],
        ['readSafetensorsHeader', () => torch.readSafetensorsHeader(path)],
      ] as const;
      for (const [how, load] of readers) {
        assert.throws(
          load,
          (err: unknown) => {
            assert.ok(err instanceof Error, `${bad.name} (${how}): threw a non-Error ${String(err)}`);
            assert.match(err.message, bad.error, `${bad.name} (${how})`);
            assert.ok(err.message.includes(path), `${bad.name} (${how}): the message names the file`);
            return true;
          },
          `${bad.name} (${how}) must throw`,
        );
      }
    }
  }, 'no tensor was made or leaked by the failed loads'));

test('a header over the 100 MB limit is refused before it is read', () => {
  // A sparse 100 MB file: the length fits in the file, but reading it would allocate 100 MB.
  const path = join(malformedDir, 'header-too-large.safetensors');
  const fd = openSync(path, 'w');
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(100_000_001n);
    writeSync(fd, prefix);
    ftruncateSync(fd, 8 + 100_000_008);
  } finally {
    closeSync(fd);
  }
  assert.throws(() => torch.loadSafetensors(path), /header length 100000001 exceeds the 100000000-byte limit/);
  rmSync(path);
});

test('a file that is not there fails with the path in the message', () => {
  const path = join(tmp, 'no-such-file.safetensors');
  assert.throws(
    () => torch.loadSafetensors(path),
    (err: unknown) => err instanceof Error && err.message.includes(path),
  );
});
