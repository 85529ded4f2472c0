// Which llama.cpp runtime suits this machine, and one line saying why (as the model recommendation
// does). A pure function: the GPUs seen come in, an official asset (or none: the built-in CPU build)
// and the reason come out.
import { formatBytes } from '../../../models/units';
import type { GpuSeen, MachineGpus } from './gpus';
import { gpuAssets, type RuntimeAsset } from './release';

export interface RuntimeRecommendation {
  /** The GPU runtime to download, or null: the built-in build is the right one. */
  asset: RuntimeAsset | null;
  gpu: GpuSeen | null;
  reason: string;
}

/** Drivers CUDA needs (NVIDIA's CUDA toolkit release notes, Windows; minor-version compatibility for 12.x). */
const CUDA_DRIVERS: Array<{ id: string; minDriver: number }> = [
  { id: 'cuda-13.3', minDriver: 580 },
  { id: 'cuda-12.4', minDriver: 528.33 },
];

function describeGpu(g: GpuSeen): string {
  const facts = [g.memoryBytes ? formatBytes(g.memoryBytes) : null, g.driver ? `driver ${g.driver}` : null].filter(Boolean);
  return facts.length ? `${g.name} (${facts.join(', ')})` : g.name;
}

/** The GPU worth running on: a discrete NVIDIA or AMD card first, the one with most memory. */
function bestGpu(gpus: readonly GpuSeen[]): GpuSeen | null {
  const rank = (g: GpuSeen) => ({ nvidia: 3, amd: 2, apple: 2, intel: 1, other: 0 })[g.vendor];
  return [...gpus].sort((a, b) => rank(b) - rank(a) || (b.memoryBytes ?? 0) - (a.memoryBytes ?? 0))[0] ?? null;
}

function driverNumber(driver: string | null): number | null {
  const m = /^(\d+)(?:\.(\d+))?/.exec(driver ?? '');
  return m ? Number(`${m[1]}.${m[2] ?? '0'}`) : null;
}

export function recommendRuntime(target: string, machine: MachineGpus): RuntimeRecommendation {
  const gpu = bestGpu(machine.gpus);
  const available = gpuAssets(target);
  const byId = (id: string) => available.find((a) => a.id === id) ?? null;
  const cpuLine = 'the built-in CPU build (its AVX2/AVX-512 kernels picked for this CPU at start) runs the model';
  if (target === 'darwin-arm64') {
    return { asset: null, gpu, reason: 'Apple silicon: the built-in build runs the model on the GPU with Metal; there is nothing to download.' };
  }
  if (!gpu) return { asset: null, gpu: null, reason: `No GPU found: ${cpuLine}.` };
  if (available.length === 0) return { asset: null, gpu, reason: `${describeGpu(gpu)} seen, but llama.cpp publishes no GPU build for ${target}: ${cpuLine}.` };
  const offer = (asset: RuntimeAsset | null, why: string): RuntimeRecommendation =>
    asset
      ? { asset, gpu, reason: `${describeGpu(gpu)} seen: the ${asset.label} runtime ${why}.` }
      : { asset: null, gpu, reason: `${describeGpu(gpu)} seen, but no runtime here drives it: ${cpuLine}.` };
  if (gpu.vendor === 'nvidia') {
    const driver = driverNumber(gpu.driver);
    // Driver unknown: the CUDA build older drivers run too.
    const cuda = driver === null ? CUDA_DRIVERS.slice(-1) : CUDA_DRIVERS.filter((c) => driver >= c.minDriver);
    for (const c of cuda) {
      const asset = byId(c.id);
      if (asset) return offer(asset, 'runs the model on it with NVIDIA\'s own kernels, many times faster than the CPU');
    }
    const vulkan = byId('vulkan');
    if (!vulkan) return offer(null, '');
    // No official Linux CUDA build: Vulkan runs on NVIDIA's driver.
    const loader = machine.vulkanLoader === false ? ' (install the Vulkan loader, libvulkan1, first)' : '';
    return offer(vulkan, `runs the model on it through its Vulkan driver, many times faster than the CPU${loader}`);
  }
  if (gpu.vendor === 'amd') {
    const vulkan = byId('vulkan');
    const loader = machine.vulkanLoader === false ? ' (install the Vulkan loader, libvulkan1, first)' : '';
    return offer(vulkan, `runs the model on it through its Vulkan driver, many times faster than the CPU${loader}; ROCm is listed too, for machines with ROCm installed`);
  }
  // Integrated Intel graphics share the CPU's memory: often no faster than the CPU kernels.
  return { asset: null, gpu, reason: `${describeGpu(gpu)} seen: an integrated GPU is seldom faster than ${cpuLine.replace(' runs the model', '')}; the Vulkan runtime is listed to try.` };
}
