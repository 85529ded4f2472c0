// The reference for bench/gguf.bench.ts: node-llama-cpp's GGUF reader (readGgufFileInfo, which the
// extension host used before its own bounded reader), on one file, in a process of its own.
// Prints one JSON line with the same figures as test/fixtures/gguf-check-child.ts.
//   node bench/gguf-reference-child.mjs <file.gguf>
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { readGgufFileInfo } = await import(pathToFileURL(join(root, 'node_modules', 'node-llama-cpp', 'dist', 'gguf', 'readGgufFileInfo.js')).href);
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const started = performance.now();
const cpuBefore = process.cpuUsage();
let outcome = 'accepted';
let message;
try {
  await readGgufFileInfo(process.argv[2], { sourceType: 'filesystem', logWarnings: false, spliceSplitFiles: false });
} catch (err) {
  outcome = 'refused';
  message = String(err?.message ?? err).slice(0, 200);
}
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
loop.disable();
console.log(JSON.stringify({ outcome, message, ms, cpuMs: (cpu.user + cpu.system) / 1000, loopMaxMs: loop.max / 1e6, rssBeforeKiB, maxRssKiB: process.resourceUsage().maxRSS }));
