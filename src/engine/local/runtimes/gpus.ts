// Which GPUs this machine has, from cheap operating-system probes: the CPU build of llama-server
// lists only the CPU (`--list-devices`), so it cannot say which GPU runtime would help. Each probe
// is bounded in time and output and may fail: a failure means "not seen", never an error.
//   Linux    nvidia-smi; /proc/driver/nvidia/version; /sys/class/drm/card*/device (PCI vendor,
//            AMD's VRAM size); libvulkan.so.1 in the usual library folders
//   Windows  nvidia-smi; Win32_VideoController through PowerShell
//   macOS    Apple silicon: its GPU (Metal is in the official arm64 build)
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import type { GpuVendor } from './release';

export interface GpuSeen {
  vendor: GpuVendor | 'other';
  name: string;
  /** Dedicated memory when the probe tells it; null for integrated GPUs and unknowns. */
  memoryBytes: number | null;
  /** The driver's version as its vendor writes it (NVIDIA: 551.61). */
  driver: string | null;
}

export interface MachineGpus {
  gpus: GpuSeen[];
  /** Whether the Vulkan loader is installed (Linux); null where it is not asked. */
  vulkanLoader: boolean | null;
}

/** The operating system, as the probes need it; tests give a folder of files for /sys and /proc. */
export interface Probes {
  platform: NodeJS.Platform;
  arch: string;
  run(command: string, args: string[]): Promise<string | null>;
  readText(path: string): Promise<string | null>;
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

const PROBE_TIMEOUT_MS = 5000;
const PROBE_MAX_OUTPUT = 256 * 1024;

export const systemProbes: Probes = {
  platform: process.platform,
  arch: process.arch,
  run: (command, args) =>
    new Promise((resolve) => {
      execFile(command, args, { timeout: PROBE_TIMEOUT_MS, maxBuffer: PROBE_MAX_OUTPUT, windowsHide: true, encoding: 'utf8' }, (err, stdout) => resolve(err ? null : stdout));
    }),
  readText: async (path) => {
    try {
      return (await readFile(path, 'utf8')).slice(0, PROBE_MAX_OUTPUT);
    } catch {
      return null;
    }
  },
  list: (dir) => readdir(dir).catch(() => []),
  exists: (path) => stat(path).then(
    () => true,
    () => false,
  ),
};

const PCI_VENDORS: Record<string, GpuVendor> = { '0x10de': 'nvidia', '0x1002': 'amd', '0x8086': 'intel' };
const VENDOR_NAMES: Record<GpuVendor | 'other', string> = { nvidia: 'NVIDIA', amd: 'AMD', intel: 'Intel', apple: 'Apple', other: 'Other' };

/** `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits` → GPUs. */
export function parseNvidiaSmi(out: string): GpuSeen[] {
  return out
    .split(/\r?\n/)
    .map((line) => line.split(',').map((f) => f.trim()))
    .filter((f) => f.length >= 3 && f[0])
    .map(([name, mib, driver]) => ({
      vendor: 'nvidia' as const,
      name: name!,
      memoryBytes: /^\d+$/.test(mib!) ? Number(mib) * 2 ** 20 : null,
      driver: /^\d+(\.\d+)*$/.test(driver!) ? driver! : null,
    }));
}

/** "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 …" → 550.54.14. */
export function parseNvidiaProcVersion(text: string): string | null {
  return /Kernel Module\s+(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}

/**
 * Win32_VideoController lines "Name|AdapterRAM|DriverVersion|PNPDeviceID". NVIDIA's Windows driver
 * version 31.0.15.5161 is driver 551.61 (the last five digits).
 */
export function parseVideoControllers(out: string): GpuSeen[] {
  const gpus: GpuSeen[] = [];
  for (const line of out.split(/\r?\n/)) {
    const [name, ram, driver, pnp] = line.split('|').map((f) => f.trim());
    if (!name || !pnp) continue;
    const ven = /VEN_([0-9A-F]{4})/i.exec(pnp)?.[1]?.toLowerCase();
    const vendor = (ven && PCI_VENDORS[`0x${ven}`]) || 'other';
    // AdapterRAM is a 32-bit field: 4 GB and up read as 4 GB or less. Only trust it below that.
    const bytes = /^\d+$/.test(ram ?? '') ? Number(ram) : 0;
    let version = driver || null;
    if (vendor === 'nvidia' && version) {
      const digits = version.replace(/\./g, '').slice(-5);
      version = /^\d{5}$/.test(digits) ? `${digits.slice(0, 3)}.${digits.slice(3)}` : version;
    }
    gpus.push({ vendor, name, memoryBytes: bytes > 0 && bytes < 4 * 2 ** 30 - 2 ** 20 ? bytes : null, driver: version });
  }
  return gpus;
}

async function linuxGpus(p: Probes): Promise<MachineGpus> {
  const gpus: GpuSeen[] = [];
  const smi = await p.run('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits']);
  if (smi) gpus.push(...parseNvidiaSmi(smi));
  const nvidiaDriver = parseNvidiaProcVersion((await p.readText('/proc/driver/nvidia/version')) ?? '');
  // Cards the vendor tool did not report: one per PCI device behind /sys/class/drm/cardN.
  const seenPci = new Set<string>();
  for (const card of (await p.list('/sys/class/drm')).filter((c) => /^card\d+$/.test(c)).sort()) {
    const dev = join('/sys/class/drm', card, 'device');
    const vendorId = (await p.readText(join(dev, 'vendor')))?.trim().toLowerCase();
    const deviceId = (await p.readText(join(dev, 'device')))?.trim().toLowerCase() ?? '';
    if (!vendorId) continue;
    const pci = `${vendorId}:${deviceId}`;
    if (seenPci.has(pci)) continue;
    seenPci.add(pci);
    const vendor = PCI_VENDORS[vendorId];
    if (!vendor || (vendor === 'nvidia' && smi)) continue;
    const vram = Number((await p.readText(join(dev, 'mem_info_vram_total')))?.trim());
    gpus.push({
      vendor,
      name: `${VENDOR_NAMES[vendor]} GPU (PCI ${vendorId.slice(2)}:${deviceId.replace(/^0x/, '')})`,
      memoryBytes: Number.isFinite(vram) && vram > 0 ? vram : null,
      driver: vendor === 'nvidia' ? nvidiaDriver : null,
    });
  }
  if (!smi && nvidiaDriver && !gpus.some((g) => g.vendor === 'nvidia')) gpus.push({ vendor: 'nvidia', name: 'NVIDIA GPU', memoryBytes: null, driver: nvidiaDriver });
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu'];
  let vulkanLoader = false;
  for (const d of libDirs) if (!vulkanLoader && (await p.exists(join(d, 'libvulkan.so.1')))) vulkanLoader = true;
  return { gpus, vulkanLoader };
}

async function windowsGpus(p: Probes): Promise<MachineGpus> {
  const smi = await p.run('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits']);
  const nvidia = smi ? parseNvidiaSmi(smi) : [];
  const script = "Get-CimInstance Win32_VideoController | ForEach-Object { \"$($_.Name)|$($_.AdapterRAM)|$($_.DriverVersion)|$($_.PNPDeviceID)\" }";
  const cim = await p.run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script]);
  const others = (cim ? parseVideoControllers(cim) : []).filter((g) => !(smi && g.vendor === 'nvidia'));
  return { gpus: [...nvidia, ...others], vulkanLoader: null };
}

/** What this machine shows of its GPUs; never throws. */
export async function probeGpus(p: Probes = systemProbes): Promise<MachineGpus> {
  try {
    if (p.platform === 'linux') return await linuxGpus(p);
    if (p.platform === 'win32') return await windowsGpus(p);
    if (p.platform === 'darwin' && p.arch === 'arm64') {
      return { gpus: [{ vendor: 'apple', name: 'Apple silicon GPU', memoryBytes: totalmem(), driver: null }], vulkanLoader: null };
    }
  } catch {
    // A probe that throws is a GPU not seen.
  }
  return { gpus: [], vulkanLoader: null };
}
