// What this machine offers a model: GPUs as llama.cpp sees them (asked of a short-lived inference
// worker: the host never loads the native library) and the system RAM.
import { totalmem } from 'node:os';
import type { HardwareDevice } from '../protocol/worker';
import { WorkerProcess, type WorkerLog } from '../engine/local/workerProcess';
import type { HardwareProfile } from './recommend';

export interface MachineProfile extends HardwareProfile {
  /** Why GPUs could not be listed, when they could not. */
  note: string | null;
}

/** GPUs from the device list (one entry per GPU, the build that reports most memory), and the RAM. */
export function profileFromDevices(devices: readonly HardwareDevice[], systemMemoryBytes: number): HardwareProfile {
  const gpus = new Map<string, number>();
  for (const d of devices) {
    if (d.type !== 'gpu' && d.type !== 'igpu') continue;
    gpus.set(d.deviceName, Math.max(gpus.get(d.deviceName) ?? 0, d.maxMemorySize));
  }
  return { gpus: [...gpus].map(([name, memoryBytes]) => ({ name, memoryBytes })), systemMemoryBytes };
}

let cached: Promise<MachineProfile> | null = null;

/** Asks a worker once per session; a failure still gives the RAM, with a note. */
export function queryHardware(workerPath: string, log: WorkerLog, timeoutMs = 30_000): Promise<MachineProfile> {
  cached ??= (async () => {
    const worker = new WorkerProcess(workerPath, log);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs)));
      const { devices } = await Promise.race([worker.hardware(), timeout]);
      log('info', `devices: ${devices.map((d) => `${d.variant}/${d.deviceName} (${d.type}, ${d.maxMemorySize} bytes)`).join('; ') || 'none'}`);
      return { ...profileFromDevices(devices, totalmem()), note: null };
    } catch (err) {
      cached = null;
      log('warn', `could not list GPUs: ${(err as Error).message}`);
      return { gpus: [], systemMemoryBytes: totalmem(), note: `GPUs could not be listed (${(err as Error).message})` };
    } finally {
      clearTimeout(timer);
      await worker.stop();
    }
  })();
  return cached;
}
