// What this machine offers a model: its GPUs, from the operating system's own probes
// (engine/local/runtimes/gpus.ts: nothing native loads in the host, and the CPU build of
// llama-server would list only the CPU), and the system RAM.
import { totalmem } from 'node:os';
import { probeGpus, type GpuSeen, type Probes, systemProbes } from '../engine/local/runtimes/gpus';
import type { HardwareProfile } from './recommend';

export interface MachineProfile extends HardwareProfile {
  /** Why GPUs could not be listed, when they could not. */
  note: string | null;
}

/**
 * One entry per GPU (named once, with the most memory any probe reported). A GPU of unknown
 * memory (integrated ones) shares the system RAM: counted as none of its own.
 */
export function profileFromGpus(gpus: readonly GpuSeen[], systemMemoryBytes: number): HardwareProfile {
  const byName = new Map<string, number>();
  for (const g of gpus) byName.set(g.name, Math.max(byName.get(g.name) ?? 0, g.memoryBytes ?? 0));
  return { gpus: [...byName].map(([name, memoryBytes]) => ({ name, memoryBytes })), systemMemoryBytes };
}

let cached: Promise<MachineProfile> | null = null;

/** Probes once per session (each probe bounded in time and output; a failed one is a GPU not seen). */
export function queryHardware(log: (level: 'info' | 'warn', message: string) => void, probes: Probes = systemProbes): Promise<MachineProfile> {
  cached ??= (async () => {
    const { gpus } = await probeGpus(probes);
    log('info', `GPUs: ${gpus.map((g) => `${g.name} (${g.vendor}, ${g.memoryBytes ?? '?'} bytes)`).join('; ') || 'none seen'}`);
    return { ...profileFromGpus(gpus, totalmem()), note: null };
  })();
  return cached;
}

/** Forgets the probed profile (tests). */
export function forgetHardware(): void {
  cached = null;
}
