// The one llama.cpp release InternVL Lens runs, and which of its official assets each platform
// can use. The release is the one node-llama-cpp bundles the source of (the CPU build the linux-x64
// VSIX carries is built from that source; a unit test keeps release.json equal to its tag).
//
// How ggml-org publishes it (.github/workflows/make-release.yml and release.yml of that source):
// the semver release (v0.4.0) carries one asset, `nightly-tag.txt`, naming the nightly build of the
// same commit (b<N>); that nightly release carries the binaries, named
// `llama-b<N>-bin-<platform>.tar.gz` (Linux, macOS: one folder `llama-b<N>/`) or `.zip` (Windows:
// flat). `release.json` may pin the nightly tag and each asset's sha256 (scripts/pin-llama-release.mjs
// fills them from GitHub once, for review in a commit); where it does not, the digest GitHub computed
// at upload and publishes in its release API is the one checked (see metadata.ts).
import pin from './release.json';

export interface ReleasePin {
  /** owner/name on GitHub. */
  repo: string;
  /** The semver release, e.g. v0.4.0. */
  release: string;
  /** Its nightly build tag (b<N>), when pinned; else read from the release's nightly-tag.txt. */
  nightly: string | null;
  /** Asset name → sha256 (hex), for the assets pinned. */
  sha256: Record<string, string>;
}

export const LLAMA_RELEASE: ReleasePin = pin;

/** The VSIX targets: scripts/runtime-packages.mjs says the same (test/unit/one-home.test.ts). */
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'] as const;
export type Target = (typeof TARGETS)[number];

export type GpuVendor = 'nvidia' | 'amd' | 'intel' | 'apple';

/** One official build of llama.cpp for one platform. */
export interface RuntimeAsset {
  /** Stable id within a target: cpu, vulkan, cuda-12.4, cuda-13.3, rocm-10.0, metal. */
  id: string;
  target: Target;
  /** As people say it: "Vulkan", "CUDA 12.4". */
  label: string;
  /** Whether it uses a GPU (the CPU builds are what VSIX files carry). */
  gpu: boolean;
  /** GPUs it can drive. */
  vendors: readonly GpuVendor[];
  /** What it needs on the machine besides itself, for the picker. */
  needs: string;
  /** Asset names for a nightly tag: the archive, then archives unpacked into the same folder. */
  assets(tag: string): string[];
}

const tarGz = (tag: string, platform: string) => `llama-${tag}-bin-${platform}.tar.gz`;
const zip = (tag: string, platform: string) => `llama-${tag}-bin-${platform}.zip`;

/**
 * Per target, CPU build first. The release has no Linux CUDA build: NVIDIA cards on Linux run the
 * Vulkan build (or a CUDA build of one's own, through internvlLens.llamaServerPath).
 */
export const RUNTIME_ASSETS: readonly RuntimeAsset[] = [
  { id: 'cpu', target: 'linux-x64', label: 'CPU', gpu: false, vendors: [], needs: 'nothing', assets: (t) => [tarGz(t, 'ubuntu-x64')] },
  {
    id: 'vulkan',
    target: 'linux-x64',
    label: 'Vulkan',
    gpu: true,
    vendors: ['nvidia', 'amd', 'intel'],
    needs: 'the Vulkan loader (libvulkan1) and the GPU driver',
    assets: (t) => [tarGz(t, 'ubuntu-vulkan-x64')],
  },
  { id: 'rocm-10.0', target: 'linux-x64', label: 'ROCm 10.0', gpu: true, vendors: ['amd'], needs: 'AMD ROCm 10 installed', assets: (t) => [tarGz(t, 'ubuntu-rocm-10.0-x64')] },
  { id: 'cpu', target: 'linux-arm64', label: 'CPU', gpu: false, vendors: [], needs: 'nothing', assets: (t) => [tarGz(t, 'ubuntu-arm64')] },
  {
    id: 'vulkan',
    target: 'linux-arm64',
    label: 'Vulkan',
    gpu: true,
    vendors: ['nvidia', 'amd', 'intel'],
    needs: 'the Vulkan loader (libvulkan1) and the GPU driver',
    assets: (t) => [tarGz(t, 'ubuntu-vulkan-arm64')],
  },
  // The macOS arm64 build embeds Metal: the CPU build of that target is the GPU build too.
  { id: 'metal', target: 'darwin-arm64', label: 'Metal', gpu: false, vendors: ['apple'], needs: 'macOS 13.3 or later', assets: (t) => [tarGz(t, 'macos-arm64')] },
  { id: 'cpu', target: 'darwin-x64', label: 'CPU', gpu: false, vendors: [], needs: 'macOS 13.3 or later', assets: (t) => [tarGz(t, 'macos-x64')] },
  { id: 'cpu', target: 'win32-x64', label: 'CPU', gpu: false, vendors: [], needs: 'nothing', assets: (t) => [zip(t, 'win-cpu-x64')] },
  {
    id: 'cuda-12.4',
    target: 'win32-x64',
    label: 'CUDA 12.4',
    gpu: true,
    vendors: ['nvidia'],
    needs: 'an NVIDIA driver 528.33 or later',
    // The CUDA runtime DLLs come in their own asset, named without the tag.
    assets: (t) => [zip(t, 'win-cuda-12.4-x64'), 'cudart-llama-bin-win-cuda-12.4-x64.zip'],
  },
  {
    id: 'cuda-13.3',
    target: 'win32-x64',
    label: 'CUDA 13.3',
    gpu: true,
    vendors: ['nvidia'],
    needs: 'an NVIDIA driver 580 or later',
    assets: (t) => [zip(t, 'win-cuda-13.3-x64'), 'cudart-llama-bin-win-cuda-13.3-x64.zip'],
  },
  { id: 'vulkan', target: 'win32-x64', label: 'Vulkan', gpu: true, vendors: ['nvidia', 'amd', 'intel'], needs: 'the GPU driver', assets: (t) => [zip(t, 'win-vulkan-x64')] },
  { id: 'rocm-10.0', target: 'win32-x64', label: 'ROCm 10.0', gpu: true, vendors: ['amd'], needs: 'the AMD HIP SDK (ROCm 10) on PATH', assets: (t) => [zip(t, 'win-rocm-10.0-x64')] },
];

export function runtimeAssets(target: string): RuntimeAsset[] {
  return RUNTIME_ASSETS.filter((a) => a.target === target);
}

/** The CPU build of a target: what its VSIX carries. */
export function cpuAsset(target: string): RuntimeAsset {
  const a = RUNTIME_ASSETS.find((r) => r.target === target && !r.gpu);
  if (!a) throw new Error(`llama.cpp ${LLAMA_RELEASE.release} has no build for ${target}`);
  return a;
}

export function gpuAssets(target: string): RuntimeAsset[] {
  return runtimeAssets(target).filter((a) => a.gpu);
}

/** The executable's file name on a target. */
export function serverExecutableName(target: string): string {
  return target.startsWith('win32-') ? 'llama-server.exe' : 'llama-server';
}

/** `llama-b7000-bin-ubuntu-vulkan-x64.tar.gz` → `llama-b7000-bin-ubuntu-vulkan-x64`. */
export function assetStem(name: string): string {
  return name.replace(/\.(tar\.gz|tgz|zip)$/, '');
}
