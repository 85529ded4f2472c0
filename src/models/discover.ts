// Finds GGUF models already on this machine, where other tools keep them (Hugging Face's cache,
// LM Studio, llama.cpp's -hf cache, our own models folder), and pairs each language model with the
// vision projector (mmproj) next to it that fits it. Only GGUF headers are read.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readGgufHeader } from '../engine/local/gguf';

export interface SearchRoot {
  dir: string;
  /** Where it comes from, in words: "Hugging Face cache", "LM Studio" … */
  source: string;
}

export interface FoundModel {
  modelPath: string;
  /** The vision projector that belongs to it, or null (a text-only model, or its mmproj is elsewhere). */
  mmprojPath: string | null;
  source: string;
  /** general.name, or the file name. */
  name: string;
  bytes: number;
  /** Its name says InternVL: what InternVL Lens is built for. */
  internvl: boolean;
}

/** The usual places, for this platform and environment (HF_HUB_CACHE, HF_HOME, LLAMA_CACHE, LMSTUDIO_HOME are honoured). */
export function modelSearchRoots(env: NodeJS.ProcessEnv = process.env, home = homedir(), platform: NodeJS.Platform = process.platform, modelsDirectory?: string): SearchRoot[] {
  const roots: SearchRoot[] = [];
  if (modelsDirectory) roots.push({ dir: modelsDirectory, source: 'Models folder' });
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(home, '.cache'), 'huggingface');
  roots.push({ dir: env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome, 'hub'), source: 'Hugging Face cache' });
  roots.push({ dir: join(env.LMSTUDIO_HOME || join(home, '.lmstudio'), 'models'), source: 'LM Studio' });
  roots.push({ dir: join(home, '.cache', 'lm-studio', 'models'), source: 'LM Studio' });
  const llamaCache =
    env.LLAMA_CACHE ||
    (platform === 'darwin'
      ? join(home, 'Library', 'Caches', 'llama.cpp')
      : platform === 'win32'
        ? join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'llama.cpp')
        : join(env.XDG_CACHE_HOME || join(home, '.cache'), 'llama.cpp'));
  roots.push({ dir: llamaCache, source: 'llama.cpp cache' });
  // One place may be reachable under two names (a custom models folder inside a cache).
  return roots.filter((r, i) => roots.findIndex((o) => o.dir === r.dir) === i);
}

interface GgufSummary {
  path: string;
  bytes: number;
  name: string;
  clip: boolean;
  /** LLM: embedding length; mmproj: projection dim (the two must match). */
  width: number | null;
}

async function summarise(path: string, bytes: number): Promise<GgufSummary | null> {
  let header;
  try {
    header = await readGgufHeader(path);
  } catch {
    return null; // not a readable GGUF: not offered
  }
  const value = (key: string) => header.metadata.get(key)?.value;
  const arch = value('general.architecture');
  const name = value('general.name');
  const width = value(arch === 'clip' ? 'clip.vision.projection_dim' : `${String(arch)}.embedding_length`);
  return {
    path,
    bytes,
    name: typeof name === 'string' && name ? name : basename(path, '.gguf'),
    clip: arch === 'clip',
    width: typeof width === 'number' ? width : null,
  };
}

/** Later shards of a split model, and files still being written by a downloader, are not models. */
function isCandidate(name: string): boolean {
  if (!name.toLowerCase().endsWith('.gguf')) return false;
  const shard = /-(\d{5})-of-\d{5}\.gguf$/i.exec(name);
  return !shard || shard[1] === '00001';
}

/** GGUF files under `dir`, following symbolic links (the Hugging Face cache links snapshots to blobs). */
async function ggufFiles(dir: string, depth: number, out: Array<{ path: string; bytes: number }>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'blobs') continue;
    const path = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    let bytes = 0;
    if (e.isSymbolicLink() || isFile) {
      try {
        const s = await stat(path);
        isDir = s.isDirectory();
        isFile = s.isFile();
        bytes = s.size;
      } catch {
        continue; // a dangling link: an unfinished download in the HF cache
      }
    }
    if (isDir && depth > 0) await ggufFiles(path, depth - 1, out);
    else if (isFile && isCandidate(e.name)) out.push({ path, bytes });
  }
}

/** Prefers the lossless half-precision projector, then the others (F32 is larger for no gain). */
function projectorRank(path: string): number {
  const n = basename(path).toLowerCase();
  return n.includes('f16') && !n.includes('bf16') ? 0 : n.includes('bf16') ? 1 : n.includes('q8') ? 2 : n.includes('f32') ? 3 : 4;
}

export async function findModelsOnDisk(roots: readonly SearchRoot[], options: { maxDepth?: number } = {}): Promise<FoundModel[]> {
  const found: FoundModel[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    const files: Array<{ path: string; bytes: number }> = [];
    await ggufFiles(root.dir, options.maxDepth ?? 6, files);
    const summaries = (await Promise.all(files.map((f) => summarise(f.path, f.bytes)))).filter((s): s is GgufSummary => s !== null);
    const byDir = new Map<string, GgufSummary[]>();
    for (const s of summaries) byDir.set(dirname(s.path), [...(byDir.get(dirname(s.path)) ?? []), s]);
    for (const group of byDir.values()) {
      const projectors = group.filter((s) => s.clip).sort((a, b) => projectorRank(a.path) - projectorRank(b.path));
      for (const llm of group.filter((s) => !s.clip)) {
        if (seen.has(llm.path)) continue;
        seen.add(llm.path);
        const mmproj = projectors.find((p) => p.width === null || llm.width === null || p.width === llm.width) ?? null;
        found.push({
          modelPath: llm.path,
          mmprojPath: mmproj?.path ?? null,
          source: root.source,
          name: llm.name,
          bytes: llm.bytes,
          internvl: /internvl/i.test(`${llm.name} ${llm.path}`),
        });
      }
    }
  }
  // InternVL with its projector first, then other vision models, then text-only ones.
  const rank = (m: FoundModel) => (m.mmprojPath ? 0 : 2) + (m.internvl ? 0 : 1);
  return found.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
