// One pre-flight check in a process of its own, for the GGUF fuzz and budget tests: a file that
// aborts, hangs or balloons the reader does so here, not in the test process. Prints one JSON
// line: the outcome, a refusal's message, the time the check took, the memory this process held
// before it and at its peak, and the longest the event loop was kept waiting meanwhile.
//   node check-child.cjs <model.gguf> <mmproj.gguf>
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EngineError } from '../../src/engine/errors';
import { preflightModelFiles } from '../../src/engine/local/preflight';

const [modelPath = '', mmprojPath = ''] = process.argv.slice(2);
const rssBeforeKiB = Math.round(process.memoryUsage().rss / 1024);
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const started = performance.now();

function report(result: Record<string, unknown>): void {
  const ms = performance.now() - started;
  loop.disable();
  const loopMaxMs = loop.max / 1e6;
  process.stdout.write(`${JSON.stringify({ ...result, ms, loopMaxMs, rssBeforeKiB, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

preflightModelFiles({ modelPath, mmprojPath }).then(
  () => report({ outcome: 'accepted' }),
  (err: unknown) =>
    report(
      err instanceof EngineError
        ? { outcome: 'refused', code: err.code, setting: err.setting, message: err.message }
        : { outcome: 'threw', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) },
    ),
);
