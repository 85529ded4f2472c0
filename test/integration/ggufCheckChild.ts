// One pre-flight check in a process of its own, for the GGUF fuzz test (gguf-fuzz.test.ts): a
// file that aborts, hangs or balloons the reader does so here, not in the test process. Prints
// one JSON line: the outcome, the message of a refusal, and this process's peak memory.
//   node ggufCheckChild.cjs <model.gguf> <mmproj.gguf>
import { EngineError } from '../../src/engine/errors';
import { preflightModelFiles } from '../../src/engine/local/preflight';

const [modelPath = '', mmprojPath = ''] = process.argv.slice(2);
const started = performance.now();

function report(result: Record<string, unknown>): void {
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ ...result, ms, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
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
