// What node-llama-cpp's `readGgufFileInfo` does not tell: the declared type of each metadata
// value (it converts them all to JS numbers, but llama.cpp aborts on an INT32 where it expects a
// UINT32) and how many bytes each tensor occupies (to spot a truncated download).
import { open } from 'node:fs/promises';

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

const SCALAR_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/**
 * Reads the declared type of every metadata key from the file's header (`headerBytes` long, as
 * `readGgufFileInfo` reports in `metadataSize`). Arrays are reported as ARRAY.
 */
export async function readGgufKeyTypes(path: string, headerBytes: number): Promise<Map<string, number>> {
  const handle = await open(path, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(headerBytes);
    await handle.read(buf, 0, headerBytes, 0);
  } finally {
    await handle.close();
  }
  let at = 16; // magic, version, tensor count (u64)
  const kvCount = Number(buf.readBigUInt64LE(at));
  at += 8;
  const readString = (): string => {
    const n = Number(buf.readBigUInt64LE(at));
    const s = buf.toString('utf8', at + 8, at + 8 + n);
    at += 8 + n;
    return s;
  };
  const skip = (type: number): void => {
    if (type === GgufType.STRING) {
      at += 8 + Number(buf.readBigUInt64LE(at));
    } else if (type === GgufType.ARRAY) {
      const itemType = buf.readUInt32LE(at);
      const count = Number(buf.readBigUInt64LE(at + 4));
      at += 12;
      if (itemType === GgufType.STRING || itemType === GgufType.ARRAY) for (let i = 0; i < count; i++) skip(itemType);
      else at += count * (SCALAR_SIZE[itemType] ?? 0);
    } else {
      const size = SCALAR_SIZE[type];
      if (size === undefined) throw new Error(`unknown metadata value type ${type}`);
      at += size;
    }
  };
  const types = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const key = readString();
    const type = buf.readUInt32LE(at);
    at += 4;
    types.set(key, type);
    skip(type);
  }
  return types;
}

/** [elements per block, bytes per block] of ggml tensor types, by ggml_type id. */
const GGML_BLOCKS: Record<number, [number, number]> = {
  0: [1, 4], // F32
  1: [1, 2], // F16
  2: [32, 18], // Q4_0
  3: [32, 20], // Q4_1
  6: [32, 22], // Q5_0
  7: [32, 24], // Q5_1
  8: [32, 34], // Q8_0
  9: [32, 36], // Q8_1
  10: [256, 84], // Q2_K
  11: [256, 110], // Q3_K
  12: [256, 144], // Q4_K
  13: [256, 176], // Q5_K
  14: [256, 210], // Q6_K
  15: [256, 292], // Q8_K
  16: [256, 66], // IQ2_XXS
  17: [256, 74], // IQ2_XS
  18: [256, 98], // IQ3_XXS
  19: [256, 50], // IQ1_S
  20: [32, 18], // IQ4_NL
  21: [256, 110], // IQ3_S
  22: [256, 82], // IQ2_S
  23: [256, 136], // IQ4_XS
  24: [1, 1], // I8
  25: [1, 2], // I16
  26: [1, 4], // I32
  27: [1, 8], // I64
  28: [1, 8], // F64
  29: [256, 56], // IQ1_M
  30: [1, 2], // BF16
  34: [256, 54], // TQ1_0
  35: [256, 66], // TQ2_0
  39: [32, 17], // MXFP4
};

/** Bytes a tensor's data takes, or null for a type this table does not know. */
export function tensorBytes(ggmlType: number, dimensions: ReadonlyArray<number | bigint>): number | null {
  const block = GGML_BLOCKS[ggmlType];
  if (!block) return null;
  const elements = dimensions.reduce<number>((a, d) => a * Number(d), 1);
  return (elements / block[0]) * block[1];
}
