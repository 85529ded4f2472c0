// The headless CLI: the extension's engines without the editor, for scripts, CI jobs and agents:
// the LocalEngine and its llama-server, or the RemoteEngine with --endpoint. Prints one JSON object on
// stdout; errors go to stderr as JSON, exit code 1.
//   internvl-lens ask IMAGE "question"   [--model M.gguf] [--mmproj P.gguf] [options]
//   internvl-lens ground IMAGE "target"  [--endpoint URL [--remote-model NAME]] [options]
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_REMOTE_TIMEOUT_SECONDS, DEFAULTS, REMOTE_API_KEY_ENV } from '../config';
import type { ChatStats, Engine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { LocalEngine } from '../engine/local/localEngine';
import { chooseLlamaServer } from '../engine/local/runtimes/choose';
import { RemoteEngine } from '../engine/remote/remoteEngine';
import { parseRegions, presetPrompt } from '../grounding';
import { MAX_TILES, prepareForModel, probeImage, toPublicRegion } from '../images';
import { clampMaxTiles } from '../images/tiling';
import { GROUNDING_SCHEMA, type GroundingResult } from '../protocol/grounding';
import { errorMessage } from '../util/errorMessage';

const USAGE = `usage: internvl-lens ask IMAGE "question" | ground IMAGE "target"
  --model PATH       LLM GGUF (default: $INTERNVL_LENS_MODEL)
  --mmproj PATH      vision projector GGUF (default: $INTERNVL_LENS_MMPROJ)
  --context N        context size in tokens (default ${DEFAULTS.contextSize})
  --gpu-layers N     layers on the GPU, -1 all, 0 CPU only (default ${DEFAULTS.gpuLayers})
  --threads N        CPU threads, 0 automatic (default ${DEFAULTS.threads})
  --max-tokens N     most tokens to generate (default ${DEFAULTS.maxTokens})
  --max-tiles N      448-px tiles the image may use, 1–${MAX_TILES} (default ${DEFAULTS.maxTiles})
  --endpoint URL     ask an OpenAI-compatible server (LMDeploy, vLLM, llama-server) instead,
                     e.g. http://gpu-box:23333/v1; its API key from $${REMOTE_API_KEY_ENV}
  --remote-model M   the served model (default: the first one the server lists)
  --timeout S        seconds to wait for the server to answer (default ${DEFAULT_REMOTE_TIMEOUT_SECONDS})
  --llama-server P   the llama-server to run (default: $INTERNVL_LENS_LLAMA_SERVER, the built-in
                     one, then PATH)
  --verbose          llama-server's (or the remote requests') log on stderr`;

class UsageError extends Error {}

/** Where per-user caches go: $XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%, else ~/.cache. */
function cacheDir(): string {
  if (process.env.XDG_CACHE_HOME) return process.env.XDG_CACHE_HOME;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches');
  if (process.platform === 'win32' && process.env.LOCALAPPDATA) return process.env.LOCALAPPDATA;
  return join(homedir(), '.cache');
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${value}`);
  return n;
}

/** The public grounding result (src/protocol/grounding.ts) plus what the CLI adds: the command, the question sent, the grid and stats. */
interface CliResult extends GroundingResult {
  command: 'ask' | 'ground';
  image: GroundingResult['image'] & { path: string; model: { cols: number; rows: number; thumbnail: boolean; tokens: number } };
  question: string;
  stats: ChatStats;
}

async function run(argv: string[]): Promise<CliResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      mmproj: { type: 'string' },
      context: { type: 'string' },
      'gpu-layers': { type: 'string' },
      threads: { type: 'string' },
      'max-tokens': { type: 'string' },
      'max-tiles': { type: 'string' },
      endpoint: { type: 'string' },
      'remote-model': { type: 'string' },
      timeout: { type: 'string' },
      'llama-server': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, imageArg, text] = positionals;
  if (values.help) throw new UsageError('');
  if ((command !== 'ask' && command !== 'ground') || !imageArg || !text || positionals.length > 3) {
    throw new UsageError('expected: ask IMAGE "question" or ground IMAGE "target"');
  }
  const imagePath = resolve(imageArg);
  let head: Buffer;
  try {
    head = await readFile(imagePath);
  } catch (err) {
    throw new EngineError('bad-request', `Cannot read the image ${imagePath}: ${errorMessage(err)}`);
  }
  probeImage(head, imagePath);
  const verbose = values.verbose;
  const log = (level: string, message: string) => {
    // Warnings always: they say what to change (an API key sent in clear, a GPU that failed).
    if (verbose || level === 'error' || level === 'warn') process.stderr.write(`[${level}] ${message}\n`);
  };
  const maxTiles = clampMaxTiles(integer(values['max-tiles'], 'max-tiles', DEFAULTS.maxTiles));
  let engine: Engine;
  if (values.endpoint !== undefined) {
    if (values.model || values.mmproj) throw new UsageError('--endpoint asks a server: --model and --mmproj are for the local engine');
    const settings = {
      endpoint: values.endpoint,
      model: values['remote-model'] ?? '',
      timeoutSeconds: integer(values.timeout, 'timeout', DEFAULT_REMOTE_TIMEOUT_SECONDS),
      maxTiles,
    };
    // The key comes from the environment only: a command-line argument shows in `ps` and shell history.
    engine = new RemoteEngine({ settings: () => settings, apiKey: async () => process.env[REMOTE_API_KEY_ENV] || undefined, log });
  } else {
    if (values['remote-model'] !== undefined) throw new UsageError('--remote-model needs --endpoint');
    const modelPath = values.model ?? process.env.INTERNVL_LENS_MODEL ?? '';
    const mmprojPath = values.mmproj ?? process.env.INTERNVL_LENS_MMPROJ ?? '';
    const settings = {
      modelPath: modelPath && resolve(modelPath),
      mmprojPath: mmprojPath && resolve(mmprojPath),
      contextSize: integer(values.context, 'context', DEFAULTS.contextSize),
      gpuLayers: integer(values['gpu-layers'], 'gpu-layers', DEFAULTS.gpuLayers),
      threads: integer(values.threads, 'threads', DEFAULTS.threads),
      idleUnloadMinutes: 0,
      maxTiles,
    };
    const configuredPath = values['llama-server'] ?? process.env.INTERNVL_LENS_LLAMA_SERVER ?? '';
    engine = new LocalEngine({
      settings: () => settings,
      // dist/cli.js: the extension's root is one folder up; the built-in build unpacks into the user's cache.
      server: () => chooseLlamaServer({ extensionPath: join(__dirname, '..'), storagePath: join(cacheDir(), 'internvl-lens'), configuredPath: configuredPath && resolve(configuredPath), log: (m) => log('info', m) }),
      log,
    });
  }
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const question = command === 'ground' ? presetPrompt('locate', text).prompt : text;
    // The image goes to the model sized to InternVL's reference grid, as the chat sends it.
    const prepared = await prepareForModel(imagePath, {
      outDir: join(tmpdir(), 'internvl-lens-cli'),
      key: createHash('sha256').update(head).digest('hex').slice(0, 32),
      maxTiles,
    });
    const outcome = await engine.chat(
      [{ role: 'user', text: question, images: [{ path: prepared.modelPath }] }],
      { maxTokens: integer(values['max-tokens'], 'max-tokens', DEFAULTS.maxTokens), temperature: 0 },
      () => undefined,
      abort.signal,
    );
    return {
      schema: GROUNDING_SCHEMA,
      command,
      // Upright (EXIF-applied) size: the pixels the regions are given in.
      image: { path: imagePath, width: prepared.transform.crop.width, height: prepared.transform.crop.height, devicePixelRatio: 1, model: { ...prepared.grid, tokens: prepared.tokens } },
      question,
      answer: outcome.text,
      regions: parseRegions(outcome.text).map((r) => toPublicRegion(prepared.transform, r)),
      stats: outcome.stats,
    };
  } finally {
    process.off('SIGINT', onSigint);
    await engine.dispose();
  }
}

run(process.argv.slice(2)).then(
  (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `internvl-lens: ${err.message}\n` : ''}${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    const code = e instanceof EngineError ? e.code : e.name === 'ImageError' ? 'bad-image' : 'internal';
    const setting = e instanceof EngineError ? e.setting : undefined;
    process.stderr.write(`${JSON.stringify({ error: { code, message: e.message, ...(setting ? { setting } : {}) } })}\n`);
    process.exitCode = 1;
  },
);
