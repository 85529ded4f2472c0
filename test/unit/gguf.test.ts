// The bounded GGUF reader (src/engine/local/gguf.ts) on files made by the fixtures' GGUF writer:
// what it returns for a valid header, and how it refuses the hostile ones the issue measured
// (which aborted, stalled or ballooned the host with node-llama-cpp's reader), every truncation
// of a header, and each structural rule ggml enforces.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GgufError, GgufType, readGgufHeader } from '../../src/engine/local/gguf';
import { layoutOf } from '../fixtures/gguf-mutations';
import { encodeGguf, GgmlType, gv, type GgufFile } from '../fixtures/tiny-model/gguf';

const scratch = mkdtempSync(join(tmpdir(), 'lens-gguf-'));
let counter = 0;

function write(bytes: Buffer): string {
  const path = join(scratch, `${counter++}.gguf`);
  writeFileSync(path, bytes);
  return path;
}

const SAMPLE: GgufFile = {
  kv: [
    ['general.architecture', gv.str('qwen2')],
    ['general.alignment', gv.u32(32)],
    ['qwen2.embedding_length', gv.u32(64)],
    ['qwen2.context_length', gv.i32(4096)],
    ['qwen2.rope.freq_base', gv.f32(1e6)],
    ['tokenizer.ggml.add_bos_token', gv.bool(false)],
    ['tokenizer.ggml.tokens', gv.strs(['a', 'b', 'Ġc'])],
    ['tokenizer.ggml.token_type', gv.i32s([1, 1, 3])],
    ['tokenizer.ggml.scores', gv.f32s(Array.from({ length: 2000 }, (_, i) => i))],
  ],
  tensors: [
    { name: 'token_embd.weight', dims: [64, 3], type: GgmlType.F16, data: new Float32Array(192) },
    { name: 'output_norm.weight', dims: [64], type: GgmlType.F32, data: new Float32Array(64) },
  ],
};
const sample = encodeGguf(SAMPLE);

/** Where the key `key`'s length field starts (the key's bytes follow it). */
function keyAt(file: Buffer, key: string): number {
  return file.indexOf(Buffer.from(key)) - 8;
}

/** `file` with the u64 (or u32) at `offset` set to `value`. */
function patched(file: Buffer, offset: number, value: bigint, width: 4 | 8 = 8): Buffer {
  const b = Buffer.from(file);
  if (width === 8) b.writeBigUInt64LE(value, offset);
  else b.writeUInt32LE(Number(value), offset);
  return b;
}

/** A file whose second key repeats its first, `key` (which ends in an ASCII letter): the writer refuses to make one. */
function sameKeyTwice(key: string): Buffer {
  const twin = `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`;
  const file = encodeGguf({ kv: [[key, gv.u32(1)], [twin, gv.u32(2)]], tensors: [] });
  const at = file.lastIndexOf(Buffer.from(twin));
  Buffer.from(key).copy(file, at);
  return file;
}

async function refusal(bytes: Buffer | string): Promise<GgufError> {
  const path = typeof bytes === 'string' ? bytes : write(bytes);
  try {
    await readGgufHeader(path);
  } catch (err) {
    assert.ok(err instanceof GgufError, `expected a GgufError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the file to be refused');
}

describe('the bounded GGUF reader', () => {
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('returns typed metadata, tensor infos and the data layout of a valid file', async () => {
    const h = await readGgufHeader(write(sample));
    assert.equal(h.version, 3);
    assert.equal(h.fileSize, sample.length);
    const entry = (key: string) => {
      const e = h.metadata.get(key);
      assert.ok(e, key);
      return { type: e.type, value: e.value, itemType: e.itemType, count: e.count };
    };
    assert.deepEqual(entry('general.architecture'), { type: GgufType.STRING, value: 'qwen2', itemType: undefined, count: undefined });
    assert.deepEqual(entry('qwen2.embedding_length'), { type: GgufType.UINT32, value: 64, itemType: undefined, count: undefined });
    // The declared type is kept: an INT32 is not a UINT32, though both read as numbers.
    assert.deepEqual(entry('qwen2.context_length'), { type: GgufType.INT32, value: 4096, itemType: undefined, count: undefined });
    assert.deepEqual(entry('tokenizer.ggml.add_bos_token'), { type: GgufType.BOOL, value: false, itemType: undefined, count: undefined });
    assert.deepEqual(entry('tokenizer.ggml.tokens'), { type: GgufType.ARRAY, value: ['a', 'b', 'Ġc'], itemType: GgufType.STRING, count: 3 });
    assert.deepEqual(entry('tokenizer.ggml.token_type'), { type: GgufType.ARRAY, value: [1, 1, 3], itemType: GgufType.INT32, count: 3 });
    // Long arrays are counted, not kept.
    assert.deepEqual(entry('tokenizer.ggml.scores'), { type: GgufType.ARRAY, value: null, itemType: GgufType.FLOAT32, count: 2000 });
    assert.equal(h.metadata.get('general.architecture')!.offset, 24);

    assert.equal(h.alignment, 32);
    assert.equal(h.dataOffset, layoutOf(sample).dataOffset);
    assert.deepEqual(h.tensors, [
      { name: 'token_embd.weight', dims: [64, 3], ggmlType: GgmlType.F16, offset: 0, bytes: 384 },
      { name: 'output_norm.weight', dims: [64], ggmlType: GgmlType.F32, offset: 384, bytes: 256 },
    ]);
    assert.equal(h.dataEnd, h.dataOffset + 384 + 256);
  });

  describe('refuses, fast and naming the field and its offset, the headers that broke the host before', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      // One flipped byte of a key length: node-llama-cpp's reader aborted the process (SIGABRT).
      ['a key length with its top byte flipped', patched(sample, 24, BigInt(sample.readUInt32LE(24)) + (0x80n << 56n)), /^the name length of metadata key 0 at byte 24 says 9223372036854775828 bytes/],
      ['a key length of 2^31 + 20', patched(sample, 24, 2n ** 31n + 20n), /^the name length of metadata key 0 at byte 24 says 2147483668 bytes, more than the 65535 a GGUF key may take/],
      ['a string length of 3·10⁹', patched(sample, keyAt(sample, 'general.architecture') + 8 + 20 + 4, 3_000_000_000n), /^the length of general\.architecture at byte 56 says 3000000000 bytes, more than the 67108864 a GGUF header may take/],
      ['a string of 10⁹ bytes', patched(sample, keyAt(sample, 'general.architecture') + 8 + 20 + 4, 1_000_000_000n), /^the length of general\.architecture at byte 56 says 1000000000 bytes/],
      ['an INT32 array of 10⁸ items', patched(sample, keyAt(sample, 'tokenizer.ggml.token_type') + 8 + 25 + 8, 100_000_000n), /^the item count of tokenizer\.ggml\.token_type at byte \d+ is 100000000: at 4 bytes an item they need 400000000 bytes, past the 64 MiB/],
      ['an INT32 array of 2^40 items', patched(sample, keyAt(sample, 'tokenizer.ggml.token_type') + 8 + 25 + 8, 2n ** 40n), /^the item count of tokenizer\.ggml\.token_type at byte \d+ is 1099511627776/],
      ['a string array of 2^63 items', patched(sample, keyAt(sample, 'tokenizer.ggml.tokens') + 8 + 21 + 8, 2n ** 63n), /^the item count of tokenizer\.ggml\.tokens at byte \d+ is 9223372036854775808: at least 8 bytes an item/],
      ['a tensor count of 2^32 − 1', patched(sample, 8, 2n ** 32n - 1n), /^the tensor count at byte 8 is 4294967295, more than the 16384 tensor infos/],
      ['a key count of 2^63', patched(sample, 16, 2n ** 63n), /^the metadata key count at byte 16 is negative \(-9223372036854775808\)/],
    ];
    for (const [name, bytes, message] of cases) {
      it(name, async () => {
        const started = performance.now();
        const err = await refusal(bytes);
        assert.equal(err.kind, 'damaged');
        assert.match(err.message, message);
        // node-llama-cpp's reader took 8.5 s and 1.1 GB on the 10⁹-byte string.
        assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
      });
    }
  });

  it('refuses every truncation of a header as truncated (or not GGUF, before the magic ends), naming the field', async () => {
    const { dataOffset } = layoutOf(sample);
    for (let length = 0; length < dataOffset; length++) {
      const err = await refusal(sample.subarray(0, length));
      if (length < 4) {
        assert.equal(err.kind, 'not-gguf', `cut at ${length}`);
        continue;
      }
      assert.equal(err.kind, 'truncated', `cut at ${length}: ${err.message}`);
      assert.ok(err.offset <= length, `cut at ${length}: ${err.message}`);
      assert.match(err.message, / at byte \d+ /, `cut at ${length}`);
    }
  });

  it('holds each structural rule of ggml', async () => {
    const bad = async (file: GgufFile | Buffer, message: RegExp) => {
      const err = await refusal(Buffer.isBuffer(file) ? file : encodeGguf(file));
      assert.equal(err.kind, 'damaged', err.message);
      assert.match(err.message, message);
    };
    const tensor = SAMPLE.tensors[1]!;
    const typeAt = (key: string) => keyAt(sample, key) + 8 + key.length;
    await bad(patched(sample, typeAt('qwen2.embedding_length'), 13n, 4), /^the value type of qwen2\.embedding_length at byte \d+ is 13, not a GGUF value type/);
    await bad(patched(sample, typeAt('tokenizer.ggml.tokens') + 4, 9n, 4), /^the item type of tokenizer\.ggml\.tokens at byte \d+ is array: GGUF has no arrays of arrays/);
    await bad(sameKeyTwice('general.name'), /^metadata key 1 at byte \d+ repeats the key general\.name/);
    await bad({ ...SAMPLE, kv: [['general.alignment', gv.u32(48)]] }, /^general\.alignment at byte 24 is 48, not a power of 2/);
    await bad({ ...SAMPLE, kv: [['general.alignment', gv.i32(32)]] }, /^general\.alignment at byte 24 is stored as int32; llama\.cpp needs uint32/);
    await bad({ ...SAMPLE, tensors: [tensor, { ...tensor }] }, /names the tensor output_norm\.weight a second time/);
    await bad({ ...SAMPLE, tensors: [{ ...tensor, name: 'x'.repeat(64) }] }, /^the name length of tensor 0 at byte \d+ says 64 bytes, more than the 63 a ggml tensor name may take/);
    const f16 = encodeGguf({ ...SAMPLE, tensors: [SAMPLE.tensors[0]!] });
    const infoAt = f16.indexOf(Buffer.from('token_embd.weight')) + 'token_embd.weight'.length;
    await bad(patched(f16, infoAt, 5n, 4), /^the dimension count of tensor token_embd\.weight at byte \d+ is 5; ggml tensors have at most 4/);
    await bad(patched(f16, infoAt + 4, 2n ** 64n - 1n), /^dimension 0 of tensor token_embd\.weight at byte \d+ is negative \(-1\)/);
    await bad(patched(f16, infoAt + 4 + 16, 4n, 4), /^the ggml type of tensor token_embd\.weight at byte \d+ is 4, not a tensor type this llama\.cpp knows/);
    await bad(patched(f16, infoAt + 4 + 16, 12n, 4), /is Q4_K, which stores rows in blocks of 256 values, but its rows have 64/);
    await bad(patched(f16, infoAt + 4 + 16 + 4, 32n), /^the data offset of tensor token_embd\.weight at byte \d+ is 32, but the tensors before it end at 0/);
  });

  it('shows control characters in key names escaped', async () => {
    const err = await refusal(sameKeyTwice('bad\nkey\u2028x'));
    assert.match(err.message, /repeats the key bad\\u000akey\\u2028x$/);
  });

  it('refuses what is not a regular file, without waiting on a pipe', async () => {
    assert.equal((await refusal(scratch)).message, 'it is not a regular file');
    const fifo = join(scratch, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    assert.equal((await refusal(fifo)).kind, 'not-gguf');
  });
});
