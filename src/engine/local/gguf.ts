// GGUF, llama.cpp's model file format: its facts (metadata value types, ggml tensor types and
// their block sizes) and the extension host's one reader of it.
//
// The host reads the headers of files a user picked, downloaded or has lying around, so every
// length and count in them is hostile until checked: each one is held against the bytes left in
// the file and against the ceilings below before anything is read or kept. The header is read in
// fixed-size chunks from one file handle (never the whole file, never a declared length at once)
// and walked in loops, never recursively (ggml refuses nested arrays, and so does this). Every
// chunk read is an await, so a long walk leaves the event loop free between chunks.
//
// The structural rules are ggml's own (ggml/src/gguf.cpp and ggml.h of the llama.cpp we ship):
// a header accepted here is one llama.cpp parses rather than refuses.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** GGUF metadata value types (gguf_type in ggml). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufType).map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;

export function ggufTypeName(type: number | undefined): string {
  return type === undefined ? 'missing' : (TYPE_NAMES[type] ?? `type ${type}`);
}

/** Bytes of one value of each fixed-size metadata type. */
const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/**
 * ggml tensor types: [name, elements per block, bytes per block], by ggml_type id. The ids
 * missing here (4, 5, 31–33, 36–38) were removed from ggml, which refuses them.
 */
const GGML_TYPES: Record<number, readonly [string, number, number]> = {
  0: ['F32', 1, 4],
  1: ['F16', 1, 2],
  2: ['Q4_0', 32, 18],
  3: ['Q4_1', 32, 20],
  6: ['Q5_0', 32, 22],
  7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34],
  9: ['Q8_1', 32, 36],
  10: ['Q2_K', 256, 84],
  11: ['Q3_K', 256, 110],
  12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176],
  14: ['Q6_K', 256, 210],
  15: ['Q8_K', 256, 292],
  16: ['IQ2_XXS', 256, 66],
  17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98],
  19: ['IQ1_S', 256, 50],
  20: ['IQ4_NL', 32, 18],
  21: ['IQ3_S', 256, 110],
  22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136],
  24: ['I8', 1, 1],
  25: ['I16', 1, 2],
  26: ['I32', 1, 4],
  27: ['I64', 1, 8],
  28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56],
  30: ['BF16', 1, 2],
  34: ['TQ1_0', 256, 54],
  35: ['TQ2_0', 256, 66],
  39: ['MXFP4', 32, 17],
  40: ['NVFP4', 64, 36],
  41: ['Q1_0', 128, 18],
  42: ['Q2_0', 64, 18],
};

/**
 * Most bytes a header (metadata and tensor infos) may take. Real ones take a few MiB: a 151k-token
 * vocabulary with its merges is about 6 MiB.
 */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Real files have under a hundred keys and at most a couple of thousand tensors (a 405B model: 1138). */
const MAX_KEYS = 4096;
const MAX_TENSORS = 16_384;
/** The GGUF specification's longest key; ggml's longest tensor name (GGML_MAX_NAME, with its NUL). */
const MAX_KEY_BYTES = 65_535;
const MAX_TENSOR_NAME_BYTES = 63;
const GGML_MAX_DIMS = 4;
/**
 * Values held in memory: strings up to 64 KiB, arrays up to 1024 items, 8 MiB of keys and values
 * in all. Longer ones (a vocabulary, its merges) are walked over and only counted: what the
 * pre-flight needs is short, and the host's memory stays bounded whatever the file says.
 */
const MAX_KEPT_STRING_BYTES = 64 * 1024;
const MAX_KEPT_ITEMS = 1024;
const MAX_KEPT_BYTES = 8 * 1024 * 1024;
/** Keys and tensor infos walked between two turns of the event loop (a chunk's fetch is one too). */
const ITEMS_PER_TURN = 1024;
/** One read from the file: the header is read this much at a time. */
const CHUNK_BYTES = 1024 * 1024;
const DEFAULT_ALIGNMENT = 32;

export type GgufScalar = number | bigint | boolean | string;

/** One metadata entry, as declared: llama.cpp checks types strictly (an INT32 where it reads a UINT32 aborts it). */
export interface GgufEntry {
  type: number;
  /** Arrays: the type of their items, and how many there are. */
  itemType?: number;
  count?: number;
  /**
   * 64-bit integers are bigints. Null when not kept: a string over 64 KiB, an array of more than
   * 1024 items, or any value once 8 MiB of values are kept.
   */
  value: GgufScalar | GgufScalar[] | null;
  /** Where the entry (its key) starts in the file. */
  offset: number;
}

export interface GgufTensorInfo {
  name: string;
  /** ne[0] first (the contiguous one). */
  dims: number[];
  ggmlType: number;
  /** Where its data starts, from the start of the data section. */
  offset: number;
  bytes: number;
}

export interface GgufHeader {
  version: number;
  fileSize: number;
  metadata: ReadonlyMap<string, GgufEntry>;
  tensors: readonly GgufTensorInfo[];
  alignment: number;
  /** Where the tensor data starts (the header's end, padded to the alignment). */
  dataOffset: number;
  /** Where the last tensor's data ends: a complete file is at least this long. */
  dataEnd: number;
}

export type GgufErrorKind = 'not-gguf' | 'unsupported-version' | 'truncated' | 'damaged';

/** What is wrong with a file's header: which field, where it starts, and why it was refused. */
export class GgufError extends Error {
  override name = 'GgufError';
  constructor(
    /** truncated: the file ends inside its header; damaged: a field is impossible or corrupt. */
    readonly kind: GgufErrorKind,
    /** What was being read, e.g. "the item count of tokenizer.ggml.tokens". */
    readonly field: string,
    /** Where that field starts in the file; -1 when the problem is not in its bytes. */
    readonly offset: number,
    problem: string,
  ) {
    super(offset < 0 ? `${field} ${problem}` : `${field} at byte ${offset} ${problem}`);
  }
}

/** Keys and tensor names as messages show them: control characters escaped, long ones cut. */
function printable(name: string): string {
  const shown = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}

/** The most bytes one tensor info takes (name length, name, dimension count, dimensions, type, offset). */
const TENSOR_INFO_BYTES = 8 + MAX_TENSOR_NAME_BYTES + 4 + 8 * GGML_MAX_DIMS + 4 + 8;
/** The most bytes before an entry's variable part: key length, key, type, then an array's item type and count or a scalar. */
const ENTRY_HEAD_BYTES = 8 + MAX_KEY_BYTES + 4 + 4 + 8;

/**
 * Reads the header CHUNK_BYTES at a time from the file handle. `fetch` is the only read: it makes
 * the next bytes of a structure readable (as many as the file holds), and the synchronous readers
 * after it check every field against the file's size and the header ceiling as they go, so that
 * walking 800 tensor infos or 300k vocabulary strings costs no promise per field.
 */
class Cursor {
  private readonly chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  /** DataView reads are builtins: fast even before the JIT has warmed up (the first pre-flight is cold). */
  private readonly view = new DataView(this.chunk.buffer, this.chunk.byteOffset, CHUNK_BYTES);
  /** File offsets of the chunk's first byte and of the byte after its last. */
  private chunkStart = 0;
  private chunkEnd = 0;
  /** The next byte to read. */
  pos = 0;
  /** What is being read, for messages, spelled out only if it is refused: a description and the key or tensor it belongs to, or an array item's index. */
  private field = '';
  private subject = '';
  private item = -1;
  private fieldAt = 0;
  /** The last u64 read, for messages. NaN to begin with: a double from the start, so that a value past 2^31 does not change the object's shape (and deoptimise every reader). */
  private hi = NaN;
  private lo = NaN;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  begin(field: string, subject = ''): void {
    this.field = field;
    this.subject = subject;
    this.item = -1;
    this.fieldAt = this.pos;
  }

  /** The length of item `index` of the string array `key`. */
  beginItem(key: string, index: number): void {
    this.field = 'the length of ';
    this.subject = key;
    this.item = index;
    this.fieldAt = this.pos;
  }

  fail(kind: GgufErrorKind, problem: string): GgufError {
    const field = `${this.field}${printable(this.subject)}${this.item < 0 ? '' : `[${this.item}]`}`;
    return new GgufError(kind, field, this.fieldAt, problem);
  }

  /** The last u64 read, exactly (a number is exact only up to 2^53). */
  exact(): string {
    return ((BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  /** Throws unless `n` more bytes exist in the file and stay under the header ceiling. */
  check(n: number): void {
    if (this.pos + n > MAX_HEADER_BYTES) {
      throw this.fail('damaged', `needs the header to reach byte ${this.pos + n}, past the ${MAX_HEADER_BYTES / 2 ** 20} MiB a GGUF header may take (real ones take a few MiB)`);
    }
    if (this.pos + n > this.size) throw this.fail('truncated', `needs the file to reach byte ${this.pos + n}`);
  }

  has(n: number): boolean {
    return this.pos >= this.chunkStart && this.pos + n <= this.chunkEnd;
  }

  /** Makes up to `n` bytes (at most CHUNK_BYTES) from pos readable: as many as the file and the ceiling hold. */
  async fetch(n: number): Promise<void> {
    const want = Math.min(n, this.size - this.pos, MAX_HEADER_BYTES - this.pos);
    if (want <= 0 || this.has(want)) return;
    const { bytesRead } = await this.handle.read(this.chunk, 0, Math.min(CHUNK_BYTES, this.size - this.pos), this.pos);
    this.chunkStart = this.pos;
    this.chunkEnd = this.pos + bytesRead;
  }

  /** Where the `n` bytes from pos lie in the chunk (fetched before); moves past them. */
  private take(n: number): number {
    if (!this.has(n)) {
      this.check(n);
      throw this.fail('truncated', `needs the file to reach byte ${this.pos + n}, and it shrank while being read`);
    }
    const i = this.pos - this.chunkStart;
    this.pos += n;
    return i;
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  /** A u64 as a number: exact up to 2^53, and anything larger fails every check it meets. */
  u64(): number {
    const i = this.take(8);
    this.lo = this.view.getUint32(i, true);
    this.hi = this.view.getUint32(i + 4, true);
    return this.hi * 2 ** 32 + this.lo;
  }

  /** An i64 that must not be negative (counts, dimensions). */
  nonNegative(): number {
    const v = this.u64();
    if (this.hi >= 2 ** 31) throw this.fail('damaged', `is negative (${BigInt.asIntN(64, BigInt(this.exact()))})`);
    return v;
  }

  /** A string's declared length, checked against `max` (which `what` names), the ceiling and the file. */
  length(max = MAX_HEADER_BYTES, what = 'a GGUF header may take'): number {
    const n = this.u64();
    if (n > max) throw this.fail('damaged', `says ${this.exact()} bytes, more than the ${max} ${what}`);
    this.check(n);
    return n;
  }

  /** `n` bytes (fetched before) as UTF-8. */
  utf8(n: number): string {
    const i = this.take(n);
    return this.chunk.toString('utf8', i, i + n);
  }

  /** A fixed-size value (fetched before), as JS holds it. */
  scalar(type: number): GgufScalar {
    const v = this.view;
    const i = this.take(SCALAR_SIZE[type]!);
    switch (type) {
      case GgufType.UINT8:
        return v.getUint8(i);
      case GgufType.INT8:
        return v.getInt8(i);
      case GgufType.UINT16:
        return v.getUint16(i, true);
      case GgufType.INT16:
        return v.getInt16(i, true);
      case GgufType.UINT32:
        return v.getUint32(i, true);
      case GgufType.INT32:
        return v.getInt32(i, true);
      case GgufType.FLOAT32:
        return v.getFloat32(i, true);
      case GgufType.BOOL:
        return v.getInt8(i) !== 0; // as ggml reads it
      case GgufType.UINT64:
        return v.getBigUint64(i, true);
      case GgufType.INT64:
        return v.getBigInt64(i, true);
      default:
        return v.getFloat64(i, true);
    }
  }

  /** Steps over `n` bytes without reading them. */
  skip(n: number): void {
    this.check(n);
    this.pos += n;
  }

  /**
   * Steps over items `from`…`count` of the string array `key`, reading only their lengths: a
   * vocabulary and its merges are 300k of them, so this loop keeps to local variables within each
   * chunk. A length that fails a check is read again the checked way, which throws saying why.
   */
  async skipStrings(key: string, from: number, count: number): Promise<void> {
    const limit = Math.min(this.size, MAX_HEADER_BYTES);
    let i = from;
    while (i < count) {
      if (!this.has(8)) {
        await this.fetch(CHUNK_BYTES);
        if (!this.has(8)) this.refuseLength(key, i); // the file or the ceiling ends first
      }
      const view = this.view;
      const base = this.chunkStart;
      const end = this.chunkEnd - base;
      let p = this.pos - base;
      let refused = false;
      while (i < count && p + 8 <= end) {
        // A length of 4 GiB or more (a high word) is past any ceiling.
        const next = p + 8 + view.getUint32(p, true);
        if (view.getUint32(p + 4, true) !== 0 || base + next > limit) {
          refused = true;
          break;
        }
        p = next;
        i++;
      }
      this.pos = base + p;
      if (refused) this.refuseLength(key, i);
    }
  }

  /** Reads item `index`'s length the checked way, which throws saying why it cannot be. */
  private refuseLength(key: string, index: number): never {
    this.beginItem(key, index);
    this.skip(this.length());
    throw this.fail('damaged', 'is inconsistent'); // not reached: the checked read throws
  }
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read little-endian

/**
 * Reads and checks a GGUF file's header. Throws a GgufError naming the field and its offset when
 * the header is not one llama.cpp would parse, and the file system's error when it cannot be read.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  // Non-blocking, so that opening a FIFO does not wait for a writer; a FIFO or a device could also never end.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new GgufError('not-gguf', 'it', -1, 'is not a regular file');
    return await walk(new Cursor(handle, stats.size));
  } finally {
    await handle.close();
  }
}

async function walk(c: Cursor): Promise<GgufHeader> {
  await c.fetch(24);
  c.begin('the magic number');
  if (c.size < 4 || c.u32() !== GGUF_MAGIC) throw c.fail('not-gguf', 'is not "GGUF"');
  c.begin('the version');
  const version = c.u32();
  // llama.cpp no longer reads version 1; a byte-swapped 3 is a big-endian file.
  if (version < 2 || version > 3) throw c.fail('unsupported-version', `is ${version}; llama.cpp reads versions 2 and 3`);

  c.begin('the tensor count');
  const tensorCount = c.nonNegative();
  // The smallest tensor info: name length, an empty name, no dimensions, type, offset.
  limitCount(c, tensorCount, MAX_TENSORS, 8 + 4 + 4 + 8, 'tensor infos');
  c.begin('the metadata key count');
  const keyCount = c.nonNegative();
  // The smallest entry: key length, a one-byte key, type, a one-byte value.
  limitCount(c, keyCount, MAX_KEYS, 8 + 1 + 4 + 1, 'metadata entries');

  const metadata = new Map<string, GgufEntry>();
  const kept = { bytes: 0 };
  for (let k = 0; k < keyCount; k++) {
    if (k % ITEMS_PER_TURN === ITEMS_PER_TURN - 1) await nextTurn();
    if (!c.has(ENTRY_HEAD_BYTES)) await c.fetch(ENTRY_HEAD_BYTES);
    const offset = c.pos;
    c.begin(`the name length of metadata key ${k}`);
    const keyLength = c.length(MAX_KEY_BYTES, 'a GGUF key may take');
    if (keyLength === 0) throw c.fail('damaged', 'is 0: an empty key');
    kept.bytes += keyLength;
    if (kept.bytes > MAX_KEPT_BYTES) throw c.fail('damaged', `brings the keys to more than ${MAX_KEPT_BYTES} bytes`);
    const key = c.utf8(keyLength);
    if (metadata.has(key)) throw new GgufError('damaged', `metadata key ${k}`, offset, `repeats the key ${printable(key)}`);
    metadata.set(key, await readEntry(c, key, offset, kept));
  }

  const alignment = alignmentOf(metadata.get('general.alignment'));

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  let expectedOffset = 0;
  let dataEnd = 0;
  for (let t = 0; t < tensorCount; t++) {
    if (t % ITEMS_PER_TURN === ITEMS_PER_TURN - 1) await nextTurn();
    if (!c.has(TENSOR_INFO_BYTES)) await c.fetch(TENSOR_INFO_BYTES);
    c.begin(`the name length of tensor ${t}`);
    const name = c.utf8(c.length(MAX_TENSOR_NAME_BYTES, 'a ggml tensor name may take'));
    if (names.has(name)) throw c.fail('damaged', `names the tensor ${printable(name)} a second time`);
    names.add(name);
    c.begin('the dimension count of tensor ', name);
    const dimCount = c.u32();
    if (dimCount > GGML_MAX_DIMS) throw c.fail('damaged', `is ${dimCount}; ggml tensors have at most ${GGML_MAX_DIMS}`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < dimCount; d++) {
      c.begin(DIMENSION_FIELDS[d]!, name);
      const ne = c.nonNegative();
      dims.push(ne);
      elements *= ne;
    }
    if (elements >= 2 ** 63) throw c.fail('damaged', `makes ${dims.join(' × ')} elements, more than ggml can count`);
    c.begin('the ggml type of tensor ', name);
    const ggmlType = c.u32();
    const ggml = GGML_TYPES[ggmlType];
    if (!ggml) throw c.fail('damaged', `is ${ggmlType}, not a tensor type this llama.cpp knows`);
    const [typeName, blockElements, blockBytes] = ggml;
    const rowLength = dims[0] ?? 1;
    if (rowLength % blockElements !== 0) throw c.fail('damaged', `is ${typeName}, which stores rows in blocks of ${blockElements} values, but its rows have ${rowLength}`);
    const bytes = (elements / blockElements) * blockBytes;
    c.begin('the data offset of tensor ', name);
    const offset = c.u64();
    // ggml lays tensors out back to back, each padded to the alignment, and refuses anything else.
    if (offset !== expectedOffset) throw c.fail('damaged', `is ${c.exact()}, but the tensors before it end at ${expectedOffset}`);
    expectedOffset = pad(offset + bytes, alignment);
    dataEnd = offset + bytes;
    tensors.push({ name, dims, ggmlType, offset, bytes });
  }

  const dataOffset = tensorCount > 0 ? pad(c.pos, alignment) : c.pos;
  if (dataOffset > c.size) {
    throw new GgufError('truncated', 'the data section', c.pos, `starts at byte ${dataOffset} (the header padded to ${alignment} bytes) but the file ends at ${c.size}`);
  }
  return { version, fileSize: c.size, metadata, tensors, alignment, dataOffset, dataEnd: dataOffset + dataEnd };
}

const DIMENSION_FIELDS = Array.from({ length: GGML_MAX_DIMS }, (_, d) => `dimension ${d} of tensor `);

/**
 * Refuses a count over its ceiling (damaged), or one whose smallest items could not fit in the
 * rest of the file (truncated: the count is plausible, the file is short).
 */
function limitCount(c: Cursor, count: number, max: number, minItemBytes: number, items: string): void {
  if (count > max) throw c.fail('damaged', `is ${c.exact()}, more than the ${max} ${items} this reader accepts`);
  const left = c.size - c.pos;
  if (count * minItemBytes > left) throw c.fail('truncated', `is ${count}: ${items} of at least ${minItemBytes} bytes each need ${count * minItemBytes}, more than the ${left} bytes left in the file`);
}

function alignmentOf(entry: GgufEntry | undefined): number {
  if (!entry) return DEFAULT_ALIGNMENT;
  const value = entry.value;
  if (entry.type !== GgufType.UINT32 || typeof value !== 'number') {
    throw new GgufError('damaged', 'general.alignment', entry.offset, `is stored as ${ggufTypeName(entry.type)}; llama.cpp needs uint32`);
  }
  if (value === 0 || (value & (value - 1)) !== 0) throw new GgufError('damaged', 'general.alignment', entry.offset, `is ${value}, not a power of 2`);
  return value;
}

function keepString(kept: { bytes: number }, n: number): boolean {
  if (n > MAX_KEPT_STRING_BYTES || kept.bytes + n > MAX_KEPT_BYTES) return false;
  kept.bytes += n;
  return true;
}

/** An entry's type and value; its head (up to an array's item count, or a scalar) was fetched with the key. */
async function readEntry(c: Cursor, key: string, offset: number, kept: { bytes: number }): Promise<GgufEntry> {
  c.begin('the value type of ', key);
  const type = c.u32();
  if (type === GgufType.STRING) {
    c.begin('the length of ', key);
    const n = c.length();
    if (!keepString(kept, n)) {
      c.skip(n);
      return { type, value: null, offset };
    }
    await c.fetch(n);
    return { type, value: c.utf8(n), offset };
  }
  if (type !== GgufType.ARRAY) {
    if (SCALAR_SIZE[type] === undefined) throw c.fail('damaged', `is ${type}, not a GGUF value type`);
    c.begin('the value of ', key);
    return { type, value: c.scalar(type), offset };
  }

  c.begin('the item type of ', key);
  const itemType = c.u32();
  if (itemType === GgufType.ARRAY) throw c.fail('damaged', 'is array: GGUF has no arrays of arrays');
  if (itemType !== GgufType.STRING && SCALAR_SIZE[itemType] === undefined) throw c.fail('damaged', `is ${itemType}, not a GGUF value type`);
  c.begin('the item count of ', key);
  const count = c.u64();
  // A string item takes at least its 8-byte length.
  const itemBytes = SCALAR_SIZE[itemType] ?? 8;
  const need = count * itemBytes;
  const each = `at ${itemType === GgufType.STRING ? 'least ' : ''}${itemBytes} bytes an item`;
  if (c.pos + need > MAX_HEADER_BYTES) throw c.fail('damaged', `is ${c.exact()}: ${each} they need ${need} bytes, past the ${MAX_HEADER_BYTES / 2 ** 20} MiB a GGUF header may take`);
  if (c.pos + need > c.size) throw c.fail('truncated', `is ${count}: ${each} they need ${need} bytes, more than the ${c.size - c.pos} left in the file`);
  let items: GgufScalar[] | null = count <= MAX_KEPT_ITEMS && kept.bytes + count * 8 <= MAX_KEPT_BYTES ? [] : null;
  if (itemType !== GgufType.STRING) {
    if (!items) {
      c.skip(need);
    } else {
      kept.bytes += count * 8;
      await c.fetch(need);
      for (let i = 0; i < count; i++) items.push(c.scalar(itemType));
    }
    return { type, itemType, count, value: items, offset };
  }
  for (let i = 0; i < count; i++) {
    if (!items) {
      await c.skipStrings(key, i, count);
      break;
    }
    c.beginItem(key, i);
    if (!c.has(8)) await c.fetch(8);
    const n = c.length();
    if (keepString(kept, n)) {
      if (!c.has(n)) await c.fetch(n);
      items.push(c.utf8(n));
    } else {
      items = null; // one string too long to keep: the array is only walked over
      c.skip(n);
    }
  }
  return { type, itemType, count, value: items, offset };
}

/** Lets the event loop run (timers, I/O, the rest of the host) before the walk goes on. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function pad(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
