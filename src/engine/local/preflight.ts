// Checks done on user-chosen model files before any native code sees them: a malformed GGUF
// aborts the process that loads it (GGML_ASSERT), and the user deserves to hear which file is
// wrong and why rather than "the worker stopped unexpectedly".
import { open, stat } from 'node:fs/promises';
import type { readGgufFileInfo } from 'node-llama-cpp';
import { EngineError } from '../errors';
import { Settings } from '../../config';
import { GgufType, ggufTypeName, readGgufKeyTypes, tensorBytes } from './ggufLayout';

const GGUF_MAGIC = 0x46554747; // "GGUF" read little-endian

/** The files to load, checked, and what their metadata says the worker needs to know. */
export interface ModelFiles {
  modelPath: string;
  mmprojPath: string | null;
  /** Most tokens one image can take (InternVL: tiles × 256 + thumbnail), when the projector tells. */
  maxImageTokens: number | null;
}

/** Projectors that take audio, not images. Any other projector with a vision encoder is accepted. */
const AUDIO_PROJECTORS = new Set(['ultravox', 'qwen2a', 'voxtral', 'whisper', 'glma', 'lfm2a']);

interface GgufFacts {
  path: string;
  /** "model" or "mmproj", as the messages name the file. */
  role: string;
  setting: string;
  value(key: string): unknown;
  type(key: string): number | undefined;
  tensors: Set<string>;
}

type ReadGgufFileInfo = typeof readGgufFileInfo;
let reader: Promise<ReadGgufFileInfo> | null = null;

/**
 * node-llama-cpp is ESM-only and its index loads native llama.cpp bindings; only its pure-JS GGUF
 * reader is wanted (scripts/build.mjs bundles just that part), loaded on first use.
 */
function ggufReader(): Promise<ReadGgufFileInfo> {
  reader ??= import('node-llama-cpp').then((m) => m.readGgufFileInfo);
  return reader;
}

function invalid(f: Pick<GgufFacts, 'path' | 'role' | 'setting'>, problem: string, fix = `Choose a valid ${f.role} GGUF file in the setting ${f.setting}.`): EngineError {
  return new EngineError('model-file-invalid', `The ${f.role} file ${f.path} ${problem}. ${fix}`, f.setting);
}

/** Existence, readability, GGUF magic and version: cheap checks with the clearest messages. */
async function checkHeader(path: string, role: string, setting: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be opened (${code})`;
    throw new EngineError('model-file-missing', `The ${role} file ${path} ${why}. Choose the file in the setting ${setting}.`, setting);
  }
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    if (bytesRead < 8 || head.readUInt32LE(0) !== GGUF_MAGIC) {
      throw invalid({ path, role, setting }, 'is not a GGUF file', `Choose a .gguf file in the setting ${setting}.`);
    }
    const version = head.readUInt32LE(4);
    if (version < 2 || version > 3) throw invalid({ path, role, setting }, `uses GGUF version ${version}; only versions 2 and 3 are supported`);
  } finally {
    await handle.close();
  }
}

/** Looks a dotted key up in readGgufFileInfo's nested metadata (some keys stay flat there). */
function lookup(node: unknown, key: string): unknown {
  if (node === null || typeof node !== 'object') return undefined;
  const obj = node as Record<string, unknown>;
  if (key in obj) return obj[key];
  const parts = key.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    if (head in obj) {
      const found = lookup(obj[head], parts.slice(i).join('.'));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

async function readFacts(path: string, role: string, setting: string): Promise<GgufFacts> {
  const where = { path, role, setting };
  await checkHeader(path, role, setting);
  const readGgufFileInfo = await ggufReader();
  let info;
  let types;
  try {
    info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false, spliceSplitFiles: false });
    types = await readGgufKeyTypes(path, info.metadataSize);
  } catch (err) {
    throw invalid(where, `cannot be read as GGUF (${(err as Error).message}): it is damaged or incomplete`, `Download it again, or choose another file in the setting ${setting}.`);
  }
  // A download cut short keeps its header: compare the file's length with where its tensors end.
  const size = (await stat(path)).size;
  let end = info.infoEndOffset ?? 0;
  for (const t of info.tensorInfo ?? []) {
    end = Math.max(end, Number(t.fileOffset) + (tensorBytes(t.ggmlType, t.dimensions) ?? 0));
  }
  if (size < end) {
    throw invalid(where, `is truncated: it has ${size} bytes but its tensors need ${end}`, `The download is probably incomplete: download it again (${setting}).`);
  }
  return {
    ...where,
    value: (key) => lookup(info.metadata, key),
    type: (key) => types.get(key),
    tensors: new Set((info.tensorInfo ?? []).map((t) => t.name)),
  };
}

/** Fails unless `key` is present with the type llama.cpp reads it as. */
function requireType(f: GgufFacts, key: string, expected: number, optional = false): void {
  const actual = f.type(key);
  if (actual === expected || (optional && actual === undefined)) return;
  if (actual === undefined) throw invalid(f, `lacks the metadata key ${key}`, `It was not made for llama.cpp or is damaged: choose another file in the setting ${f.setting}.`);
  throw invalid(
    f,
    `stores ${key} as ${ggufTypeName(actual)} where llama.cpp expects ${ggufTypeName(expected)} (loading it would crash)`,
    `The converter that wrote it is broken: choose a file from another source in the setting ${f.setting}.`,
  );
}

interface LlmFacts {
  arch: string;
  embeddingLength: number;
}

function checkLlm(f: GgufFacts): LlmFacts {
  const arch = f.value('general.architecture');
  if (typeof arch !== 'string' || f.type('general.architecture') !== GgufType.STRING) {
    throw invalid(f, 'has no general.architecture', `It is not a llama.cpp model: choose the InternVL3 LLM GGUF in the setting ${f.setting}.`);
  }
  if (arch === 'clip') {
    throw invalid(f, 'is a vision projector (mmproj), not the language model', `Put it in ${Settings.mmprojPath} and set ${f.setting} to the LLM GGUF.`);
  }
  for (const key of ['embedding_length', 'block_count', 'context_length']) requireType(f, `${arch}.${key}`, GgufType.UINT32);
  const heads = f.type(`${arch}.attention.head_count`);
  if (heads !== undefined && heads !== GgufType.UINT32 && heads !== GgufType.ARRAY) requireType(f, `${arch}.attention.head_count`, GgufType.UINT32);
  requireType(f, 'tokenizer.ggml.tokens', GgufType.ARRAY);
  if (!f.tensors.has('token_embd.weight')) throw invalid(f, 'has no token_embd.weight tensor', `It is incomplete: choose another file in the setting ${f.setting}.`);
  return { arch, embeddingLength: Number(f.value(`${arch}.embedding_length`)) };
}

function checkMmproj(f: GgufFacts, llm: LlmFacts, modelPath: string): number | null {
  const arch = f.value('general.architecture');
  if (arch !== 'clip') {
    throw invalid(
      f,
      `is not a vision projector (its architecture is ${typeof arch === 'string' ? arch : 'missing'}; an mmproj has clip)`,
      `Set ${f.setting} to the mmproj GGUF published with the model.`,
    );
  }
  const projector = f.value('clip.projector_type') ?? f.value('clip.vision.projector_type');
  const projectorName = typeof projector === 'string' ? projector : 'unknown';
  if (f.value('clip.has_vision_encoder') !== true || AUDIO_PROJECTORS.has(projectorName)) {
    throw invalid(f, `is not a vision projector (projector type ${projectorName} has no vision encoder)`, `InternVL Lens needs the model's image projector: choose it in the setting ${f.setting}.`);
  }
  for (const key of ['image_size', 'patch_size', 'embedding_length', 'feed_forward_length', 'block_count', 'attention.head_count']) {
    requireType(f, `clip.vision.${key}`, GgufType.UINT32);
  }
  requireType(f, 'clip.vision.attention.layer_norm_epsilon', GgufType.FLOAT32);
  requireType(f, 'clip.vision.projection_dim', GgufType.UINT32, true);
  const projectionDim = f.value('clip.vision.projection_dim');
  if (typeof projectionDim === 'number' && projectionDim !== llm.embeddingLength) {
    throw invalid(
      f,
      `does not belong to the model ${modelPath}: its clip.vision.projection_dim is ${projectionDim} but the model's ${llm.arch}.embedding_length is ${llm.embeddingLength}`,
      `Choose the mmproj published with this model in the setting ${f.setting}.`,
    );
  }
  if (projectorName !== 'internvl') return null;
  requireType(f, 'clip.vision.projector.scale_factor', GgufType.UINT32);
  requireType(f, 'clip.vision.preproc_max_tiles', GgufType.UINT32, true);
  if (!f.tensors.has('v.class_embd')) throw invalid(f, 'has no v.class_embd tensor, which an InternVL projector needs', `It is incomplete: choose another file in the setting ${f.setting}.`);
  const side = Number(f.value('clip.vision.image_size')) / Number(f.value('clip.vision.patch_size'));
  const perTile = Math.round((side * side) / Number(f.value('clip.vision.projector.scale_factor')) ** 2);
  const maxTiles = Number(f.value('clip.vision.preproc_max_tiles') ?? 12);
  // Tiles, then a thumbnail when there is more than one tile, inside <img> … </img>.
  return (maxTiles > 1 ? maxTiles + 1 : 1) * perTile + 2;
}

/** Results by file version, so that a request does not re-read unchanged files. */
const checked = new Map<string, Promise<GgufFacts>>();

async function facts(path: string, role: string, setting: string): Promise<GgufFacts> {
  let version = 'missing';
  try {
    const s = await stat(path);
    version = `${s.size}:${s.mtimeMs}`;
  } catch {
    // checkHeader reports it.
  }
  const key = `${path}\0${version}\0${role}`;
  let result = checked.get(key);
  if (!result) {
    result = readFacts(path, role, setting);
    checked.set(key, result);
    result.catch(() => checked.delete(key));
  }
  return result;
}

export async function preflightModelFiles(files: { modelPath: string; mmprojPath: string }): Promise<ModelFiles> {
  if (!files.modelPath) {
    throw new EngineError(
      'model-not-configured',
      `No model is set. Set ${Settings.modelPath} to an InternVL3 GGUF file (and ${Settings.mmprojPath} to its mmproj file).`,
      Settings.modelPath,
    );
  }
  const llm = checkLlm(await facts(files.modelPath, 'model', Settings.modelPath));
  if (!files.mmprojPath) return { modelPath: files.modelPath, mmprojPath: null, maxImageTokens: null };
  const maxImageTokens = checkMmproj(await facts(files.mmprojPath, 'mmproj', Settings.mmprojPath), llm, files.modelPath);
  return { modelPath: files.modelPath, mmprojPath: files.mmprojPath, maxImageTokens };
}
