// The InternVL3 GGUF builds InternVL Lens offers to download: one entry per quantization of the
// language model, each with the vision projectors (mmproj) that belong to it. Sizes are what the
// repositories publish; the downloader still checks the exact size the server announces.

/** Where production downloads come from; HF_ENDPOINT (as huggingface_hub reads it) or a test may replace it. */
export const HUGGING_FACE = 'https://huggingface.co';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

export interface CatalogueFile {
  file: string;
  /** Size in bytes: exact when `exactSize`, else rounded as the model card shows it. */
  bytes: number;
  exactSize: boolean;
  /** sha256 of the file when it is known ahead (Hugging Face also sends it with each download). */
  sha256?: string;
}

export interface Mmproj extends CatalogueFile {
  /** F16, BF16, Q8_0, F32 … */
  precision: string;
}

/** The language model behind one InternVL3 size, for sizing its KV cache. */
export interface ModelFamily {
  /** e.g. "InternVL3-14B" */
  name: string;
  /** Hugging Face repository, owner/name. */
  repo: string;
  /** Qwen2.5 layers, KV heads and head size (f16 KV cache: 2 × layers × heads × size × 2 bytes a token). */
  layers: number;
  kvHeads: number;
  headDim: number;
  /** The language model's parameters (Qwen2.5-14B / 7B / 1.5B), for the CPU time estimate. */
  llmParams: number;
  mmproj: readonly Mmproj[];
  /** The mmproj offered by default (the smallest lossless one). */
  defaultMmproj: string;
}

export interface CatalogueEntry extends CatalogueFile {
  /** Stable id, e.g. "InternVL3-14B:Q4_K_M". */
  id: string;
  family: ModelFamily;
  /** Quantization as the file name spells it, e.g. Q4_K_M, UD-Q4_K_XL, BF16. */
  quant: string;
}

/** Rounded sizes from the model card; its "GB"/"MB" are binary units (Q4_K_M 8.37 GB = 8 985 340 608 bytes). */
const gib = (n: number) => Math.round(n * GiB);
const mib = (n: number) => Math.round(n * MiB);

const approx = (file: string, bytes: number): CatalogueFile => ({ file, bytes, exactSize: false });

const INTERNVL3_14B: ModelFamily = {
  name: 'InternVL3-14B',
  repo: 'unsloth/InternVL3-14B-Instruct-GGUF',
  layers: 48,
  kvHeads: 8,
  headDim: 128,
  llmParams: 14.8e9,
  mmproj: [
    { ...approx('mmproj-F16.gguf', mib(672.66)), precision: 'F16' },
    { ...approx('mmproj-BF16.gguf', mib(672.66)), precision: 'BF16' },
    { ...approx('mmproj-F32.gguf', gib(1.31)), precision: 'F32' },
  ],
  defaultMmproj: 'mmproj-F16.gguf',
};

/** unsloth/InternVL3-14B-Instruct-GGUF, every quantization its model card lists. */
const QUANTS_14B: ReadonlyArray<[quant: string, gb: number]> = [
  ['BF16', 27.51],
  ['UD-Q8_K_XL', 17.26],
  ['UD-Q6_K_XL', 12.36],
  ['Q6_K', 11.29],
  ['UD-Q5_K_XL', 9.8],
  ['Q5_K_M', 9.78],
  ['Q5_K_S', 9.56],
  ['Q4_1', 8.74],
  ['UD-Q4_K_XL', 8.48],
  ['Q4_K_M', 8.37],
  ['Q4_K_S', 7.98],
  ['IQ4_NL', 7.96],
  ['IQ4_XS', 7.58],
  ['UD-Q3_K_XL', 7.07],
  ['Q3_K_M', 6.83],
  ['Q3_K_S', 6.2],
  ['UD-Q2_K_XL', 5.64],
  ['UD-IQ3_XXS', 5.59],
  ['Q2_K_L', 5.54],
  ['Q2_K', 5.37],
  ['UD-IQ2_M', 5.05],
  ['UD-IQ2_XXS', 4.15],
  ['UD-IQ1_M', 3.76],
  ['UD-IQ1_S', 3.55],
];

// The smaller InternVL3 sizes are published as GGUF by ggml-org (unsloth has no GGUF of them).
// Exact sizes as the Hugging Face API reports them. No 1B entry: its file sizes could not be
// checked, and a catalogue entry without a true size would mislead the recommendation.
const INTERNVL3_8B: ModelFamily = {
  name: 'InternVL3-8B',
  repo: 'ggml-org/InternVL3-8B-Instruct-GGUF',
  layers: 28,
  kvHeads: 4,
  headDim: 128,
  llmParams: 7.6e9,
  mmproj: [{ file: 'mmproj-InternVL3-8B-Instruct-f16.gguf', bytes: 666_002_720, exactSize: true, precision: 'F16' }],
  defaultMmproj: 'mmproj-InternVL3-8B-Instruct-f16.gguf',
};

const INTERNVL3_2B: ModelFamily = {
  name: 'InternVL3-2B',
  repo: 'ggml-org/InternVL3-2B-Instruct-GGUF',
  layers: 28,
  kvHeads: 2,
  headDim: 128,
  llmParams: 1.5e9,
  mmproj: [
    { file: 'mmproj-InternVL3-2B-Instruct-f16.gguf', bytes: 628_237_600, exactSize: true, precision: 'F16' },
    { file: 'mmproj-InternVL3-2B-Instruct-Q8_0.gguf', bytes: 337_012_000, exactSize: true, precision: 'Q8_0' },
  ],
  defaultMmproj: 'mmproj-InternVL3-2B-Instruct-f16.gguf',
};

export const FAMILIES: readonly ModelFamily[] = [INTERNVL3_14B, INTERNVL3_8B, INTERNVL3_2B];

export const CATALOGUE: readonly CatalogueEntry[] = [
  ...QUANTS_14B.map(([quant, gb]): CatalogueEntry => ({
    id: `${INTERNVL3_14B.name}:${quant}`,
    family: INTERNVL3_14B,
    quant,
    ...approx(`InternVL3-14B-Instruct-${quant}.gguf`, gib(gb)),
  })),
  {
    id: 'InternVL3-8B:Q4_K_M',
    family: INTERNVL3_8B,
    quant: 'Q4_K_M',
    file: 'InternVL3-8B-Instruct-Q4_K_M.gguf',
    bytes: 4_681_132_224,
    exactSize: true,
  },
  {
    id: 'InternVL3-2B:Q8_0',
    family: INTERNVL3_2B,
    quant: 'Q8_0',
    file: 'InternVL3-2B-Instruct-Q8_0.gguf',
    bytes: 1_893_671_520,
    exactSize: true,
  },
  {
    id: 'InternVL3-2B:Q4_K_M',
    family: INTERNVL3_2B,
    quant: 'Q4_K_M',
    file: 'InternVL3-2B-Instruct-Q4_K_M.gguf',
    bytes: 1_116_758_816,
    exactSize: true,
  },
];

export const DEFAULT_ENTRY_ID = 'InternVL3-14B:Q4_K_M';

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.id === id);
}

export function defaultEntry(): CatalogueEntry {
  return catalogueEntry(DEFAULT_ENTRY_ID)!;
}

export function mmprojFor(entry: CatalogueEntry, file = entry.family.defaultMmproj): Mmproj | undefined {
  return entry.family.mmproj.find((m) => m.file === file);
}

/** Download URL of a file in a family's repository (`main` revision). */
export function fileUrl(family: ModelFamily, file: string, baseUrl = HUGGING_FACE): string {
  return `${baseUrl.replace(/\/+$/, '')}/${family.repo}/resolve/main/${encodeURIComponent(file)}`;
}

/** The download base URL: HF_ENDPOINT when set (a mirror), else huggingface.co. */
export function downloadBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env.HF_ENDPOINT?.trim();
  return endpoint && /^https?:\/\//.test(endpoint) ? endpoint : HUGGING_FACE;
}

/** What to do when the model host cannot be reached: a mirror (HF_ENDPOINT) or files copied in by hand. */
export function unreachableAdvice(env: NodeJS.ProcessEnv = process.env): string {
  const mirror = env.HF_ENDPOINT?.trim();
  return mirror
    ? `Downloads go to HF_ENDPOINT (${mirror}): check that this mirror is reachable, or unset HF_ENDPOINT before starting VS Code to use huggingface.co. Files you already have: Use Existing Model Files….`
    : 'Behind a firewall, set HF_ENDPOINT to a Hugging Face mirror you can reach (e.g. HF_ENDPOINT=https://hf-mirror.com) before starting VS Code. Offline: copy the two GGUF files onto this machine and pick them with Use Existing Model Files….';
}

/** How much a rounded size may differ from the real one: half a unit of its last shown digit, plus slack. */
export function sizeTolerance(f: CatalogueFile): number {
  if (f.exactSize) return 0;
  return f.bytes >= GiB ? 0.01 * GiB : 0.01 * MiB;
}

/** KV cache of a context, in bytes (f16 keys and values, as llama.cpp allocates by default). */
export function kvCacheBytes(family: ModelFamily, contextTokens: number): number {
  return 2 * family.layers * family.kvHeads * family.headDim * 2 * contextTokens;
}

/** Folder (under the models directory) that a family's files are stored in. */
export function familyFolder(family: ModelFamily): string {
  return family.repo.split('/')[1]!;
}
