// Which llama.cpp build runs the model. The binding ships one package per build (CPU — Metal on
// macOS —, CUDA, Vulkan); a GPU build is only worth loading when it sees a GPU.
import type { LlamaNode, LibVariant } from './llama-node-api';

export interface VariantChoice {
  variant: LibVariant;
  /** Why, for the log. */
  reason: string;
}

/** GPU builds in order of preference (CUDA is faster than Vulkan on NVIDIA cards). */
const GPU_VARIANTS: readonly LibVariant[] = ['cuda', 'vulkan'];

export async function chooseLibVariant(
  binding: Pick<LlamaNode, 'isLibVariantAvailable' | 'getBackendDevicesInfo'>,
  gpuLayers: number,
  platform: NodeJS.Platform = process.platform,
): Promise<VariantChoice> {
  if (gpuLayers === 0) return { variant: 'default', reason: 'GPU offload is off (gpuLayers = 0)' };
  // The default macOS build already uses Metal.
  if (platform === 'darwin') return { variant: 'default', reason: 'macOS: the default build uses Metal' };
  const tried: string[] = [];
  for (const variant of GPU_VARIANTS) {
    if (!(await binding.isLibVariantAvailable(variant).catch(() => false))) {
      tried.push(`${variant}: not installed`);
      continue;
    }
    const devices = await binding.getBackendDevicesInfo(variant).catch(() => []);
    const gpus = devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
    if (gpus.length > 0) return { variant, reason: `${variant} sees ${gpus.map((d) => d.deviceName).join(', ')}` };
    tried.push(`${variant}: no GPU found`);
  }
  return { variant: 'default', reason: `no GPU build usable (${tried.join('; ')}): CPU` };
}
