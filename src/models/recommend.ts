// Which InternVL3 build suits this machine: the best quantization whose weights, vision projector,
// KV cache for the chosen context and working buffers fit the GPU's memory (so every layer runs
// there), else the system RAM for the CPU — and, on the CPU, the largest size that answers a
// screenshot in reasonable time on this many cores. A pure function: hardware comes in, a choice
// and one line saying why come out.
import { availableParallelism } from 'node:os';
import { CATALOGUE, type CatalogueEntry, kvCacheBytes, mmprojFor, type Mmproj } from './catalogue';
import { formatBytes } from './units';
import { Settings } from '../config';

export interface GpuInfo {
  name: string;
  /** Memory the device reports (llama.cpp's getBackendDevicesInfo maxMemorySize). */
  memoryBytes: number;
}

export interface HardwareProfile {
  gpus: readonly GpuInfo[];
  systemMemoryBytes: number;
  /** Logical CPU cores the model may use; os.availableParallelism() when not given. */
  cpuCores?: number;
}

export interface Fit {
  entry: CatalogueEntry;
  mmproj: Mmproj;
  /** Weights + projector + KV cache + working buffers. */
  neededBytes: number;
  where: 'gpu' | 'cpu' | 'none';
}

export interface Recommendation extends Fit {
  /** One line, for the quick pick and the walkthrough. */
  reason: string;
  gpu: GpuInfo | null;
}

/** Compute buffers (image encoder over a 448-px tile batch, the LLM's scratch): measured well under this. */
const WORKING_BUFFERS = 768 * 2 ** 20;
/** Drivers and the display keep some GPU memory: use at most this share of what the device reports. */
const GPU_USABLE = 0.85;
/** The system, the editor and other apps keep this much RAM. */
const RAM_RESERVED = 4 * 2 ** 30;

/** Best first. On a GPU quality is worth its memory; on a CPU speed follows size, so it starts lower. */
const GPU_LADDER = ['InternVL3-14B:Q6_K', 'InternVL3-14B:Q5_K_M', 'InternVL3-14B:Q4_K_M', 'InternVL3-14B:IQ4_XS', 'InternVL3-14B:Q3_K_M', 'InternVL3-14B:UD-IQ3_XXS', 'InternVL3-8B:Q4_K_M', 'InternVL3-2B:Q8_0', 'InternVL3-2B:Q4_K_M'];
const CPU_LADDER = ['InternVL3-14B:Q4_K_M', 'InternVL3-14B:IQ4_XS', 'InternVL3-14B:Q3_K_M', 'InternVL3-8B:Q4_K_M', 'InternVL3-2B:Q8_0', 'InternVL3-2B:Q4_K_M'];

/**
 * CPU throughput for prompt processing, FLOP/s per core: llama-bench pp512 of an 81 M-parameter
 * Q4_K_M model on a 2-core x86-64 machine gave 356 tok/s (2 FLOP per parameter per token).
 */
const CPU_FLOPS_PER_CORE = (356 * 2 * 81e6) / 2;
/** A 1920×1080 screenshot at the default tiling: 9 tiles of 1025 patches through InternViT-300M, then 2306 tokens through the LLM. */
const SCREENSHOT_VISION_FLOP = 9 * 1025 * 2 * 0.3e9;
const SCREENSHOT_TOKENS = 2306;
/** Longest a CPU recommendation may take to start answering about a full screenshot. */
const CPU_ANSWER_BUDGET_S = 120;

/** Seconds until the first token about a 1920×1080 screenshot on `cores` CPU cores (an estimate). */
export function cpuScreenshotSeconds(entry: CatalogueEntry, cores: number): number {
  return (SCREENSHOT_VISION_FLOP + SCREENSHOT_TOKENS * 2 * entry.family.llmParams) / (Math.max(1, cores) * CPU_FLOPS_PER_CORE);
}

function aboutTime(seconds: number): string {
  return seconds < 90 ? `about ${Math.max(1, Math.round(seconds))} s` : `about ${Math.round(seconds / 60)} min`;
}

export function neededBytes(entry: CatalogueEntry, mmproj: Mmproj, contextTokens: number): number {
  return entry.bytes + mmproj.bytes + kvCacheBytes(entry.family, contextTokens) + WORKING_BUFFERS;
}

function usableRam(hw: HardwareProfile): number {
  return Math.max(0, hw.systemMemoryBytes - RAM_RESERVED);
}

/** The GPU with the most memory (llama.cpp puts a model on one device unless told to split). */
function largestGpu(hw: HardwareProfile): GpuInfo | null {
  return hw.gpus.reduce<GpuInfo | null>((best, g) => (!best || g.memoryBytes > best.memoryBytes ? g : best), null);
}

/** Where a build would run on this machine. */
export function fitOf(entry: CatalogueEntry, hw: HardwareProfile, contextTokens: number): Fit {
  const mmproj = mmprojFor(entry)!;
  const needed = neededBytes(entry, mmproj, contextTokens);
  const gpu = largestGpu(hw);
  const where = gpu && needed <= gpu.memoryBytes * GPU_USABLE ? 'gpu' : needed <= usableRam(hw) ? 'cpu' : 'none';
  return { entry, mmproj, neededBytes: needed, where };
}

function label(e: CatalogueEntry): string {
  return `${e.family.name} ${e.quant}`;
}

export function recommendModel(hw: HardwareProfile, contextTokens: number, catalogue: readonly CatalogueEntry[] = CATALOGUE): Recommendation {
  const byId = (id: string) => catalogue.find((e) => e.id === id);
  const gpu = largestGpu(hw);
  const context = `${contextTokens.toLocaleString('en')}-token context`;
  if (gpu) {
    for (const id of GPU_LADDER) {
      const entry = byId(id);
      if (!entry) continue;
      const fit = fitOf(entry, hw, contextTokens);
      if (fit.where === 'gpu') {
        return {
          ...fit,
          gpu,
          reason: `${gpu.name} has ${formatBytes(gpu.memoryBytes)}: ${label(entry)} needs about ${formatBytes(fit.neededBytes)} with its vision projector and a ${context}, so it runs entirely on the GPU.`,
        };
      }
    }
  }
  const ram = formatBytes(hw.systemMemoryBytes);
  const noGpu = gpu ? `${gpu.name} (${formatBytes(gpu.memoryBytes)}) is too small for InternVL3` : 'No GPU found';
  const cores = hw.cpuCores ?? availableParallelism();
  const fitting = CPU_LADDER.map(byId)
    .filter((e): e is CatalogueEntry => e !== undefined)
    .map((entry) => fitOf(entry, hw, contextTokens))
    .filter((fit) => fit.where !== 'none');
  // The largest that fits the RAM and answers in time; when none is quick enough, the fastest that fits.
  const quick = fitting.find((fit) => cpuScreenshotSeconds(fit.entry, cores) <= CPU_ANSWER_BUDGET_S);
  const fastest = [...fitting].sort((a, b) => cpuScreenshotSeconds(a.entry, cores) - cpuScreenshotSeconds(b.entry, cores) || b.entry.bytes - a.entry.bytes)[0];
  const fit = quick ?? fastest;
  if (fit) {
    const seconds = cpuScreenshotSeconds(fit.entry, cores);
    const largerSkipped = fitting[0] && fitting[0].entry.family !== fit.entry.family ? `; ${fitting[0].entry.family.name} would fit but take ${aboutTime(cpuScreenshotSeconds(fitting[0].entry, cores))}` : '';
    const slow = quick ? '' : ' — slow on this CPU: a GPU, or a server (internvlLens.engine: remote), is far faster';
    return {
      ...fit,
      where: 'cpu',
      gpu: null,
      reason: `${noGpu}; with ${ram} of RAM and ${cores} CPU core${cores === 1 ? '' : 's'}, ${label(fit.entry)} (about ${formatBytes(fit.neededBytes)} with a ${context}) runs on the CPU, ${aboutTime(seconds)} to start answering about a full-screen screenshot${largerSkipped}${slow}.`,
    };
  }
  const smallest = [...catalogue].sort((a, b) => a.bytes - b.bytes)[0]!;
  const tooLarge = fitOf(smallest, hw, contextTokens);
  return {
    ...tooLarge,
    gpu: null,
    reason: `${noGpu}, and ${ram} of RAM is less than even ${label(smallest)} needs (about ${formatBytes(tooLarge.neededBytes)} with a ${context}): lower ${Settings.contextSize} or use a server.`,
  };
}
