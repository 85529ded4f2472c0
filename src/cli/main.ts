// The headless CLI: the extension's engines without the editor, for scripts, CI jobs and agents:
// the LocalEngine and its llama-server, or the RemoteEngine with --endpoint (engineFlags.ts).
//   internvl-lens ask IMAGE "question"   [--model M.gguf] [--mmproj P.gguf] [options]
//   internvl-lens ground IMAGE "target"  [--endpoint URL [--remote-model NAME]] [--refine auto|always|off] [options]
//   internvl-lens ask --video FILE "question" [--frames N] [--start S] [--end S] [--ffmpeg PATH]
//       a video (MP4, WebM, MOV, MKV: ffmpeg) or animated image (GIF, WebP, APNG): its frames
//       one JSON object on stdout; errors go to stderr as JSON, exit code 1.
//   internvl-lens batch (--question Q | --ground TARGET) FILES-OR-GLOBS-OR-FOLDERS… --out results.jsonl   (batch.ts)
//   internvl-lens mcp                    an MCP server on stdio (../mcp/server.ts)
import { parseArgs } from 'node:util';
import { analyseImage, describeError } from './analyseImage';
import { askVideo, VIDEO_FLAGS, VIDEO_USAGE } from './askVideo';
import { BATCH_USAGE, runBatch } from './batch';
import { ENGINE_FLAGS, ENGINE_USAGE, engineFromFlags, UsageError } from './engineFlags';
import { runMcpServer } from '../mcp/server';
import { errorMessage } from '../util/errorMessage';

const USAGE = `usage: internvl-lens ask IMAGE "question" | ground IMAGE "target"
       internvl-lens ask --video FILE "question" [--frames N] [--start S] [--end S] [--ffmpeg PATH]
${VIDEO_USAGE}
       internvl-lens batch (--question Q | --ground TARGET) FILES-OR-GLOBS-OR-FOLDERS… --out results.jsonl [--resume]
       internvl-lens mcp          (a Model Context Protocol server on stdin/stdout)
${ENGINE_USAGE}
${BATCH_USAGE}`;

async function askOrGround(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...ENGINE_FLAGS, ...VIDEO_FLAGS, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) throw new UsageError('');
  if (values.video !== undefined) return askVideo(positionals, values);
  const [command, imageArg, text] = positionals;
  if (values.frames !== undefined || values.start !== undefined || values.end !== undefined) throw new UsageError('--frames, --start and --end go with --video FILE');
  if ((command !== 'ask' && command !== 'ground') || !imageArg || !text || positionals.length > 3) {
    throw new UsageError('expected: ask IMAGE "question" or ground IMAGE "target"');
  }
  const { engine, maxTiles, maxTokens, refine } = engineFromFlags(values);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const { result } = await analyseImage(engine, { path: imageArg, command, text, maxTiles, maxTokens, refine, signal: abort.signal });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await engine.dispose();
  }
}

function run(argv: string[]): Promise<number> {
  if (argv[0] === 'batch') return runBatch(argv.slice(1));
  if (argv[0] === 'mcp') return runMcpServer(argv.slice(1));
  return askOrGround(argv);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: unknown })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const message = errorMessage(err);
      process.stderr.write(`${message ? `internvl-lens: ${message}\n` : ''}${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${JSON.stringify({ error: describeError(err) })}\n`);
    process.exitCode = 1;
  },
);
