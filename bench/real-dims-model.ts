// Random-weight GGUF pairs with a real InternVL3 model's dimensions for the benchmarks: the tiny
// models' scheme (test/fixtures/tiny-model, /work/shared/docs/tiny-internvl-gguf.md: Qwen2 LLM with
// a GPT-2 style BPE vocabulary and InternVL's ChatML template, an `internvl` clip mmproj) at real
// sizes, so that kernels, memory traffic and image cost are those of the real model:
//   internvl3-1b   vision InternViT-300M-448px: 24 blocks, width 1024, 16 heads, FFN 4096, MLP
//                  projector; LLM Qwen2.5-0.5B: 24 blocks, width 896, 14 heads, 2 KV heads, FFN 4864,
//                  embeddings tied (≈ 1 GB + 0.6 GB in F16)
//   internvl3-14b  the same vision tower; LLM Qwen2.5-14B: 48 blocks, width 5120, 40 heads, 8 KV
//                  heads, FFN 13 824, separate output matrix (≈ 30 GB in F16; bench/device.sh)
// Both with InternVL3's vocabulary of 151 674 (Qwen's 151 643 regular tokens, 22 specials,
// InternVL's 9). Made once into .cache/bench-models/<shape>/ (git-ignored; a stamp of this file's
// hash says it is current), written tensor by tensor through a fixed 4 MiB buffer, so memory stays
// bounded. The LLM is then quantized to Q4_K_M with llama-quantize when the llama.cpp build has it
// (the mmproj stays F16, as published mmproj files are).
// Random weights answer garbage. Only tokens made of ASCII letters (and a leading space) have
// non-zero output rows: the others get logit 0, far below the best of ~100 k random logits, so
// greedy decoding never ends a turn early (every answer runs to its token limit), never prints a
// special token, and never streams broken UTF-8 (llama-server's chat parser refuses an answer that
// is not text).
//   node --import tsx bench/real-dims-model.ts [shape]    (writes the pair if missing, prints the paths)
//   LLAMA_QUANTIZE=path/to/llama-quantize, BENCH_MAX_TILES=n (default 4)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GGUF_ALIGNMENT, GgmlType, GgufValueType, gv, toHalf, type GgufValue } from '../test/fixtures/tiny-model/gguf';
import { INTERNVL3_CHAT_TEMPLATE, mulberry32 } from '../test/fixtures/tiny-model/tiny-internvl';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_MODELS_DIR = join(ROOT, '.cache', 'bench-models');

const VISION = { blocks: 24, width: 1024, heads: 16, ffn: 4096, imageSize: 448, patchSize: 14 } as const;
const VOCAB = 151_674;

interface LlmShape {
  blocks: number;
  width: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  contextLength: number;
  /** Output matrix shared with the token embeddings (Qwen2.5-0.5B), or a separate one. */
  tied: boolean;
}

export const SHAPES = {
  'internvl3-1b': { name: 'InternVL3-1B', llm: { blocks: 24, width: 896, heads: 14, kvHeads: 2, ffn: 4864, contextLength: 32_768, tied: true } },
  'internvl3-14b': { name: 'InternVL3-14B', llm: { blocks: 48, width: 5120, heads: 40, kvHeads: 8, ffn: 13_824, contextLength: 32_768, tied: false } },
} as const satisfies Record<string, { name: string; llm: LlmShape }>;
export type ShapeName = keyof typeof SHAPES;

/** Qwen2.5's special tokens (ids 151 643 …), then the ones InternVL3 adds (… 151 673). */
const QWEN_SPECIALS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>',
  '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>',
  '<|image_pad|>', '<|video_pad|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>',
  '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>',
];
const INTERNVL_SPECIALS = ['<img>', '</img>', '<IMG_CONTEXT>', '<quad>', '</quad>', '<ref>', '</ref>', '<box>', '</box>'];
const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;

export interface RealDimsModel {
  /** "InternVL3-1B" */
  shape: string;
  dir: string;
  /** The LLM the benchmarks load: Q4_K_M when llama-quantize was there, else F16. */
  modelPath: string;
  /** F16 LLM as generated. */
  modelF16Path: string;
  mmprojPath: string;
  /** "Q4_K_M" or "F16". */
  llmType: string;
  /** clip.vision.preproc_max_tiles written into the mmproj: llama.cpp's own tiling stays within it. */
  maxTiles: number;
}

// ---------------------------------------------------------------------------------------------
// A streaming GGUF v3 writer: header (key/values, tensor infos) from a small in-memory buffer,
// then each tensor's bytes produced chunk by chunk.

interface TensorPlan {
  name: string;
  /** ggml order: dims[0] is the contiguous one. */
  dims: number[];
  type: GgmlType.F16 | GgmlType.F32;
  /** How its values are made: uniform in ±amplitude, or every value `fill`. */
  amplitude?: number;
  fill?: number;
  /** Rows (of dims[0] values) written as zeros: 1 in this mask. */
  zeroRows?: Uint8Array;
}

class HeaderBytes {
  private parts: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: GgufValueType, v: number | string | boolean): void {
    const b = Buffer.alloc(4);
    switch (type) {
      case GgufValueType.STRING:
        return this.str(String(v));
      case GgufValueType.BOOL:
      case GgufValueType.UINT8:
        return this.push(Buffer.from([Number(v === true ? 1 : v === false ? 0 : v)]));
      case GgufValueType.INT32:
        b.writeInt32LE(Number(v));
        return this.push(b);
      case GgufValueType.UINT32:
        b.writeUInt32LE(Number(v));
        return this.push(b);
      case GgufValueType.FLOAT32:
        b.writeFloatLE(Number(v));
        return this.push(b);
      default:
        throw new Error(`GGUF value type ${type} not written here`);
    }
  }
  value(v: GgufValue): void {
    this.u32(v.type);
    if (v.type === GgufValueType.ARRAY) {
      this.u32(v.itemType);
      this.u64(v.values.length);
      for (const item of v.values) this.scalar(v.itemType, item);
    } else {
      this.scalar(v.type, v.value);
    }
  }
  pad(): void {
    this.push(Buffer.alloc((GGUF_ALIGNMENT - (this.length % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const bytesOf = (t: TensorPlan) => t.dims.reduce((a, b) => a * b, 1) * (t.type === GgmlType.F32 ? 4 : 2);
const aligned = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
const CHUNK_BYTES = 4 << 20;

/** Writes a GGUF file to `file` (via `file.tmp` and a rename) with at most a few MiB in memory. */
function writeGgufStreamed(file: string, kv: Array<[string, GgufValue]>, tensors: TensorPlan[], seed: number): void {
  const h = new HeaderBytes();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(kv.length);
  for (const [key, value] of kv) {
    h.str(key);
    h.value(value);
  }
  let offset = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(t.type);
    h.u64(offset);
    offset = aligned(offset + bytesOf(t));
  }
  h.pad();

  // A pool of random F16 values in ±1 per amplitude, read at pseudo-random offsets: generating
  // 800 M values one by one would cost minutes; this costs the disk writes.
  const rand = mulberry32(seed);
  const POOL = 1 << 20;
  const pools = new Map<number, Uint16Array>();
  const pool = (amplitude: number): Uint16Array => {
    let p = pools.get(amplitude);
    if (!p) {
      p = new Uint16Array(POOL);
      for (let i = 0; i < POOL; i++) p[i] = toHalf((rand() * 2 - 1) * amplitude);
      pools.set(amplitude, p);
    }
    return p;
  };

  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  const buf = Buffer.alloc(CHUNK_BYTES);
  try {
    writeSync(fd, h.toBuffer());
    let written = 0;
    for (const t of tensors) {
      const total = bytesOf(t);
      const rowBytes = t.dims[0]! * (t.type === GgmlType.F32 ? 4 : 2);
      const zero = t.zeroRows;
      for (let done = 0; done < total; ) {
        const n = Math.min(CHUNK_BYTES, total - done);
        if (t.type === GgmlType.F32) {
          const f = new Float32Array(buf.buffer, buf.byteOffset, n / 4);
          if (t.amplitude === undefined) f.fill(t.fill ?? 0);
          else for (let i = 0; i < f.length; i++) f[i] = (rand() * 2 - 1) * t.amplitude;
        } else {
          const u = new Uint16Array(buf.buffer, buf.byteOffset, n / 2);
          if (t.amplitude === undefined) u.fill(toHalf(t.fill ?? 0));
          else {
            const p = pool(t.amplitude);
            for (let i = 0; i < u.length; ) {
              const start = Math.floor(rand() * (POOL - 4096));
              const len = Math.min(4096, u.length - i);
              u.set(p.subarray(start, start + len), i);
              i += len;
            }
          }
        }
        for (let row = Math.floor(done / rowBytes); zero && row * rowBytes < done + n; row++) {
          const a = row * rowBytes - done;
          if (zero[row]) buf.fill(0, Math.max(0, a), Math.min(n, a + rowBytes));
        }
        writeSync(fd, buf, 0, n);
        done += n;
      }
      written += total;
      const pad = aligned(written) - written;
      if (pad) writeSync(fd, Buffer.alloc(pad));
      written += pad;
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// The vocabulary: byte tokens, BPE merges of them up to Qwen's 151 643 regular tokens, specials.

/** GPT-2 byte → unicode mapping, as the tiny vocabulary uses it. */
function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return table;
}

function vocabulary(): { tokens: string[]; types: number[]; merges: string[]; ids: Map<string, number> } {
  const byte = byteToUnicode();
  const tokens = [...byte].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  // Merges in a rough frequency order: space-led and lower-case letters first, so that English
  // prompt text comes out in tokens of a few characters, as Qwen's tokenizer cuts it.
  const common = ['Ġ', ...'etaoinshrdlcumwfgypbvkjxqz', ...'ETAOINSHRDLCUMWFGYPBVKJXQZ', ...'0123456789.,:;!?-_()[]/'];
  const rest = byte.filter((c) => !common.includes(c));
  const order = [...common, ...rest];
  const merges: string[] = [];
  const regular = 151_643;
  const seen = new Set(tokens);
  const add = (left: string, right: string): boolean => {
    if (tokens.length >= regular) return false;
    const text = left + right;
    if (seen.has(text)) return true;
    seen.add(text);
    tokens.push(text);
    merges.push(`${left} ${right}`);
    return true;
  };
  let level = order.map((c) => c);
  // Each level joins the previous level's tokens (most frequent first) with single characters.
  while (tokens.length < regular) {
    const next: string[] = [];
    const width = Math.ceil(Math.sqrt(regular));
    outer: for (const left of level.slice(0, width)) {
      for (const right of order.slice(0, left.length === 1 ? order.length : common.length)) {
        if (!add(left, right)) break outer;
        next.push(left + right);
      }
    }
    level = next;
  }
  const types = tokens.map(() => TOKEN_NORMAL);
  for (const s of [...QWEN_SPECIALS, ...INTERNVL_SPECIALS]) {
    tokens.push(s);
    types.push(TOKEN_CONTROL);
  }
  if (tokens.length !== VOCAB) throw new Error(`vocabulary came out at ${tokens.length} tokens, not ${VOCAB}`);
  return { tokens, types, merges, ids: new Map(tokens.map((t, i) => [t, i])) };
}

// ---------------------------------------------------------------------------------------------
// The two files

function llmFile(file: string, shapeName: string, llm: LlmShape): void {
  const { tokens, types, merges, ids } = vocabulary();
  const n = llm.width;
  const kvDim = (n / llm.heads) * llm.kvHeads;
  const id = (t: string) => ids.get(t)!;
  const kv: Array<[string, GgufValue]> = [
    ['general.architecture', gv.str('qwen2')],
    ['general.type', gv.str('model')],
    ['general.name', gv.str(`${shapeName}-shaped (random weights, Lens bench)`)],
    ['general.alignment', gv.u32(GGUF_ALIGNMENT)],
    ['general.file_type', gv.u32(1)],
    ['qwen2.block_count', gv.u32(llm.blocks)],
    ['qwen2.context_length', gv.u32(llm.contextLength)],
    ['qwen2.embedding_length', gv.u32(n)],
    ['qwen2.feed_forward_length', gv.u32(llm.ffn)],
    ['qwen2.attention.head_count', gv.u32(llm.heads)],
    ['qwen2.attention.head_count_kv', gv.u32(llm.kvHeads)],
    ['qwen2.rope.freq_base', gv.f32(1e6)],
    ['qwen2.attention.layer_norm_rms_epsilon', gv.f32(1e-6)],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('qwen2')],
    ['tokenizer.ggml.tokens', gv.strs(tokens)],
    ['tokenizer.ggml.token_type', gv.i32s(types)],
    ['tokenizer.ggml.merges', gv.strs(merges)],
    ['tokenizer.ggml.eos_token_id', gv.u32(id('<|im_end|>'))],
    ['tokenizer.ggml.padding_token_id', gv.u32(id('<|endoftext|>'))],
    ['tokenizer.ggml.bos_token_id', gv.u32(id('<|endoftext|>'))],
    ['tokenizer.ggml.add_bos_token', gv.bool(false)],
    ['tokenizer.chat_template', gv.str(INTERNVL3_CHAT_TEMPLATE)],
  ];
  const W = 0.03; // ≈ the 0.02 standard deviation of a fresh initialisation
  // Zero output rows for everything but letter tokens (see the top of this file).
  const quietRows = Uint8Array.from(tokens, (t, i) => (types[i] === TOKEN_NORMAL && /^Ġ?[A-Za-z]+$/.test(t) ? 0 : 1));
  const tensors: TensorPlan[] = [{ name: 'token_embd.weight', dims: [n, VOCAB], type: GgmlType.F16, amplitude: W, ...(llm.tied ? { zeroRows: quietRows } : {}) }];
  for (let b = 0; b < llm.blocks; b++) {
    const p = `blk.${b}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [n], type: GgmlType.F32, fill: 1 },
      { name: `${p}attn_q.weight`, dims: [n, n], type: GgmlType.F16, amplitude: W },
      { name: `${p}attn_q.bias`, dims: [n], type: GgmlType.F32, fill: 0 },
      { name: `${p}attn_k.weight`, dims: [n, kvDim], type: GgmlType.F16, amplitude: W },
      { name: `${p}attn_k.bias`, dims: [kvDim], type: GgmlType.F32, fill: 0 },
      { name: `${p}attn_v.weight`, dims: [n, kvDim], type: GgmlType.F16, amplitude: W },
      { name: `${p}attn_v.bias`, dims: [kvDim], type: GgmlType.F32, fill: 0 },
      { name: `${p}attn_output.weight`, dims: [n, n], type: GgmlType.F16, amplitude: W },
      { name: `${p}ffn_norm.weight`, dims: [n], type: GgmlType.F32, fill: 1 },
      { name: `${p}ffn_gate.weight`, dims: [n, llm.ffn], type: GgmlType.F16, amplitude: W },
      { name: `${p}ffn_up.weight`, dims: [n, llm.ffn], type: GgmlType.F16, amplitude: W },
      { name: `${p}ffn_down.weight`, dims: [llm.ffn, n], type: GgmlType.F16, amplitude: W },
    );
  }
  tensors.push({ name: 'output_norm.weight', dims: [n], type: GgmlType.F32, fill: 1 });
  if (!llm.tied) tensors.push({ name: 'output.weight', dims: [n, VOCAB], type: GgmlType.F16, amplitude: W, zeroRows: quietRows });
  writeGgufStreamed(file, kv, tensors, 0x11a);
}

function mmprojFile(file: string, shapeName: string, projectionDim: number, maxTiles: number): void {
  const w = VISION.width;
  const positions = (VISION.imageSize / VISION.patchSize) ** 2 + 1;
  const kv: Array<[string, GgufValue]> = [
    ['general.architecture', gv.str('clip')],
    ['general.type', gv.str('mmproj')],
    ['general.name', gv.str(`${shapeName}-shaped InternViT-300M-448px (random weights, Lens bench)`)],
    ['general.alignment', gv.u32(GGUF_ALIGNMENT)],
    ['general.file_type', gv.u32(1)],
    ['clip.has_vision_encoder', gv.bool(true)],
    ['clip.projector_type', gv.str('internvl')],
    ['clip.use_gelu', gv.bool(true)],
    ['clip.vision.image_size', gv.u32(VISION.imageSize)],
    ['clip.vision.patch_size', gv.u32(VISION.patchSize)],
    ['clip.vision.embedding_length', gv.u32(w)],
    ['clip.vision.feed_forward_length', gv.u32(VISION.ffn)],
    ['clip.vision.block_count', gv.u32(VISION.blocks)],
    ['clip.vision.attention.head_count', gv.u32(VISION.heads)],
    ['clip.vision.attention.layer_norm_epsilon', gv.f32(1e-6)],
    ['clip.vision.projection_dim', gv.u32(projectionDim)],
    ['clip.vision.image_mean', gv.f32s([0.485, 0.456, 0.406])],
    ['clip.vision.image_std', gv.f32s([0.229, 0.224, 0.225])],
    ['clip.vision.projector.scale_factor', gv.u32(2)],
    ['clip.vision.preproc_min_tiles', gv.u32(1)],
    ['clip.vision.preproc_max_tiles', gv.u32(maxTiles)],
  ];
  const W = 0.03;
  const tensors: TensorPlan[] = [
    { name: 'v.patch_embd.weight', dims: [VISION.patchSize, VISION.patchSize, 3, w], type: GgmlType.F16, amplitude: W },
    { name: 'v.patch_embd.bias', dims: [w], type: GgmlType.F32, fill: 0 },
    { name: 'v.class_embd', dims: [w], type: GgmlType.F32, amplitude: W },
    { name: 'v.position_embd.weight', dims: [w, positions], type: GgmlType.F32, amplitude: W },
  ];
  for (let b = 0; b < VISION.blocks; b++) {
    const p = `v.blk.${b}.`;
    for (const m of ['attn_q', 'attn_k', 'attn_v', 'attn_out']) {
      tensors.push({ name: `${p}${m}.weight`, dims: [w, w], type: GgmlType.F16, amplitude: W }, { name: `${p}${m}.bias`, dims: [w], type: GgmlType.F32, fill: 0 });
    }
    tensors.push(
      { name: `${p}ln1.weight`, dims: [w], type: GgmlType.F32, fill: 1 },
      { name: `${p}ln1.bias`, dims: [w], type: GgmlType.F32, fill: 0 },
      { name: `${p}ln2.weight`, dims: [w], type: GgmlType.F32, fill: 1 },
      { name: `${p}ln2.bias`, dims: [w], type: GgmlType.F32, fill: 0 },
      { name: `${p}ffn_up.weight`, dims: [w, VISION.ffn], type: GgmlType.F16, amplitude: W },
      { name: `${p}ffn_up.bias`, dims: [VISION.ffn], type: GgmlType.F32, fill: 0 },
      { name: `${p}ffn_down.weight`, dims: [VISION.ffn, w], type: GgmlType.F16, amplitude: W },
      { name: `${p}ffn_down.bias`, dims: [w], type: GgmlType.F32, fill: 0 },
      { name: `${p}ls1.weight`, dims: [w], type: GgmlType.F32, fill: 0.1 },
      { name: `${p}ls2.weight`, dims: [w], type: GgmlType.F32, fill: 0.1 },
    );
  }
  tensors.push(
    { name: 'mm.model.mlp.0.weight', dims: [4 * w], type: GgmlType.F32, fill: 1 },
    { name: 'mm.model.mlp.0.bias', dims: [4 * w], type: GgmlType.F32, fill: 0 },
    { name: 'mm.model.mlp.1.weight', dims: [4 * w, projectionDim], type: GgmlType.F16, amplitude: W },
    { name: 'mm.model.mlp.1.bias', dims: [projectionDim], type: GgmlType.F32, fill: 0 },
    { name: 'mm.model.mlp.3.weight', dims: [projectionDim, projectionDim], type: GgmlType.F16, amplitude: W },
    { name: 'mm.model.mlp.3.bias', dims: [projectionDim], type: GgmlType.F32, fill: 0 },
  );
  writeGgufStreamed(file, kv, tensors, 0x300);
}

const stamp = () => createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 16);

/**
 * Makes the pair in .cache/bench-models/<shape>/ unless it is there and current (one mmproj per
 * tile limit); `quantizer` is llama-quantize's path (or null: the F16 LLM is used).
 */
export function ensureRealDimsModel(opts: { shape?: ShapeName; maxTiles: number; quantizer: string | null; log?: (line: string) => void }): RealDimsModel {
  const log = opts.log ?? (() => undefined);
  const shapeName = opts.shape ?? 'internvl3-1b';
  const shape = SHAPES[shapeName];
  const dir = join(BENCH_MODELS_DIR, shapeName);
  const stampFile = join(dir, 'stamp.json');
  const modelF16Path = join(dir, 'model-F16.gguf');
  const quantPath = join(dir, 'model-Q4_K_M.gguf');
  const mmprojPath = join(dir, `mmproj-F16-max${opts.maxTiles}tiles.gguf`);
  const want = stamp();
  let made: { stamp?: string } = {};
  try {
    made = JSON.parse(readFileSync(stampFile, 'utf8')) as { stamp?: string };
  } catch {
    // not made yet
  }
  if (made.stamp !== want || !existsSync(modelF16Path)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    llmFile(modelF16Path, shape.name, shape.llm);
    log(`LLM (F16, ${(statSync(modelF16Path).size / 2 ** 20).toFixed(0)} MiB) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    writeFileSync(stampFile, `${JSON.stringify({ stamp: want })}\n`);
  }
  if (!existsSync(mmprojPath)) {
    const t0 = performance.now();
    mmprojFile(mmprojPath, shape.name, shape.llm.width, opts.maxTiles);
    log(`mmproj (F16, ${(statSync(mmprojPath).size / 2 ** 20).toFixed(0)} MiB) written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (opts.quantizer && !existsSync(quantPath)) {
    const t0 = performance.now();
    const r = spawnSync(opts.quantizer, [modelF16Path, `${quantPath}.tmp`, 'Q4_K_M'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`llama-quantize failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).slice(-2000)}`);
    renameSync(`${quantPath}.tmp`, quantPath);
    log(`LLM quantized to Q4_K_M (${(statSync(quantPath).size / 2 ** 20).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const quantized = existsSync(quantPath);
  return { shape: shape.name, dir, modelPath: quantized ? quantPath : modelF16Path, modelF16Path, mmprojPath, llmType: quantized ? 'Q4_K_M' : 'F16', maxTiles: opts.maxTiles };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const shape = (process.argv[2] ?? 'internvl3-1b') as ShapeName;
  if (!(shape in SHAPES)) throw new Error(`unknown shape ${shape}; known: ${Object.keys(SHAPES).join(', ')}`);
  const quantizer = process.env.LLAMA_QUANTIZE ?? null;
  const model = ensureRealDimsModel({ shape, maxTiles: Number(process.env.BENCH_MAX_TILES ?? 4), quantizer, log: console.log });
  console.log(JSON.stringify(model, null, 2));
}
