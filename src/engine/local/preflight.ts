// Checks done on user-chosen model files before any native code sees them: a malformed GGUF
// aborts the process that loads it (GGML_ASSERT), and the user deserves to hear which file is
// wrong and why rather than "llama-server stopped unexpectedly".
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { EngineError } from '../errors';
import { Settings } from '../../config';
import { GgufError, GgufType, ggufTypeName, readGgufHeader, type GgufHeader } from './gguf';
import { errorMessage } from '../../util/errorMessage';

/** The files to load, checked, and what their metadata says the engine needs to know. */
export interface ModelFiles {
  modelPath: string;
  /** general.name, or the file name without .gguf. */
  modelName: string;
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
  /** Where the key's entry starts in the file, for messages. */
  offset(key: string): number | undefined;
  tensors: Set<string>;
}

type Where = Pick<GgufFacts, 'path' | 'role' | 'setting'>;

function invalid(f: Where, problem: string, fix = `Choose a valid ${f.role} GGUF file in the setting ${f.setting}.`): EngineError {
  return new EngineError('model-file-invalid', `The ${f.role} file ${f.path} ${problem}. ${fix}`, f.setting);
}

/** Reads the header with the bounded reader; any way it fails becomes a message naming the file, the field and its offset. */
async function readHeader(where: Where): Promise<GgufHeader> {
  const { path, role, setting } = where;
  try {
    return await readGgufHeader(path);
  } catch (err) {
    if (err instanceof GgufError) {
      switch (err.kind) {
        case 'not-gguf':
          throw invalid(where, `is not a GGUF file (${err.message})`, `Choose a .gguf file in the setting ${setting}.`);
        case 'unsupported-version':
          throw invalid(where, `uses a GGUF version llama.cpp does not read (${err.message})`);
        case 'truncated':
          throw invalid(where, `is truncated: it has ${(await stat(path)).size} bytes but ${err.message}`, `The download is probably incomplete: download it again (${setting}).`);
        case 'damaged':
          throw invalid(where, `cannot be read as GGUF (${err.message}): it is damaged or incomplete`, `Download it again, or choose another file in the setting ${setting}.`);
      }
    }
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be opened (${code ?? errorMessage(err)})`;
    throw new EngineError('model-file-missing', `The ${role} file ${path} ${why}. Choose the file in the setting ${setting}.`, setting);
  }
}

async function readFacts(path: string, role: string, setting: string): Promise<GgufFacts> {
  const where = { path, role, setting };
  const header = await readHeader(where);
  // A download cut short keeps its header: compare the file's length with where its tensors end.
  if (header.fileSize < header.dataEnd) {
    throw invalid(where, `is truncated: it has ${header.fileSize} bytes but its tensors need ${header.dataEnd}`, `The download is probably incomplete: download it again (${setting}).`);
  }
  return {
    ...where,
    value: (key) => header.metadata.get(key)?.value,
    type: (key) => header.metadata.get(key)?.type,
    offset: (key) => header.metadata.get(key)?.offset,
    tensors: new Set(header.tensors.map((t) => t.name)),
  };
}

/** Fails unless `key` is present with the type llama.cpp reads it as. */
function requireType(f: GgufFacts, key: string, expected: number, optional = false): void {
  const actual = f.type(key);
  if (actual === expected || (optional && actual === undefined)) return;
  if (actual === undefined) throw invalid(f, `lacks the metadata key ${key}`, `It was not made for llama.cpp or is damaged: choose another file in the setting ${f.setting}.`);
  throw invalid(
    f,
    `stores ${key} as ${ggufTypeName(actual)} where llama.cpp expects ${ggufTypeName(expected)} (loading it would crash; the entry is at byte ${f.offset(key)})`,
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
  // llama.cpp reshapes the patch grid by these without checking them: a grid the scale factor does
  // not divide aborts it (GGML_ASSERT in ggml_reshape), which the fuzz test found.
  const imageSize = Number(f.value('clip.vision.image_size'));
  const patchSize = Number(f.value('clip.vision.patch_size'));
  const scale = Number(f.value('clip.vision.projector.scale_factor'));
  const side = imageSize / patchSize;
  const grid = `clip.vision.image_size ${imageSize} (at byte ${f.offset('clip.vision.image_size')}) over clip.vision.patch_size ${patchSize} (at byte ${f.offset('clip.vision.patch_size')})`;
  const problem =
    !Number.isInteger(side) || side < 1
      ? `has an image grid llama.cpp cannot build: ${grid} is not a whole number of patches`
      : scale < 1 || side % scale !== 0
        ? `has an image grid llama.cpp cannot shuffle: ${grid} makes ${side} patches a side, which clip.vision.projector.scale_factor ${scale} (at byte ${f.offset('clip.vision.projector.scale_factor')}) does not divide`
        : null;
  if (problem) throw invalid(f, `${problem} (loading it would crash)`, `It is damaged: download it again, or choose another mmproj in the setting ${f.setting}.`);
  const perTile = Math.round((side * side) / scale ** 2);
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

/** A model's one name (status bar, toasts, the server's alias): general.name, else the file name without .gguf. */
function nameOf(f: GgufFacts): string {
  const name = f.value('general.name');
  return typeof name === 'string' && name.trim() ? name.trim().slice(0, 200) : basename(f.path).replace(/\.gguf$/i, '');
}

/** The configured model's name before it is loaded (the same as once loaded); the file name when its header cannot be read. */
export async function modelDisplayName(modelPath: string): Promise<string> {
  try {
    return nameOf(await facts(modelPath, 'model', Settings.modelPath));
  } catch {
    return basename(modelPath).replace(/\.gguf$/i, '');
  }
}

export async function preflightModelFiles(files: { modelPath: string; mmprojPath: string }): Promise<ModelFiles> {
  if (!files.modelPath) {
    throw new EngineError(
      'model-not-configured',
      `No model is set. Set ${Settings.modelPath} to an InternVL3 GGUF file (and ${Settings.mmprojPath} to its mmproj file).`,
      Settings.modelPath,
    );
  }
  const llmFacts = await facts(files.modelPath, 'model', Settings.modelPath);
  const llm = checkLlm(llmFacts);
  const modelName = nameOf(llmFacts);
  if (!files.mmprojPath) return { modelPath: files.modelPath, modelName, mmprojPath: null, maxImageTokens: null };
  const maxImageTokens = checkMmproj(await facts(files.mmprojPath, 'mmproj', Settings.mmprojPath), llm, files.modelPath);
  return { modelPath: files.modelPath, modelName, mmprojPath: files.mmprojPath, maxImageTokens };
}
