// The command-line flags that choose and configure an engine, shared by every CLI subcommand
// (ask, ground, batch, mcp): the LocalEngine and its llama-server by default, the RemoteEngine with
// --endpoint. One home for their names, defaults and usage text.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_REMOTE_TIMEOUT_SECONDS, DEFAULTS, REFINE_MODES, refineModeOf, REMOTE_API_KEY_ENV, type RefineMode } from '../config';
import { clampMaxTiles, MAX_TILES } from '../images/tiling';
import type { Engine } from '../engine/engine';
import { LocalEngine } from '../engine/local/localEngine';
import { chooseLlamaServer } from '../engine/local/runtimes/choose';
import { RemoteEngine } from '../engine/remote/remoteEngine';

/** A command line that cannot be run as written: the CLI prints it with the usage, exit code 2. */
export class UsageError extends Error {}

/** node:util parseArgs options of the engine flags. */
export const ENGINE_FLAGS = {
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
  refine: { type: 'string' },
  verbose: { type: 'boolean', default: false },
} as const;

export const ENGINE_USAGE = `  --model PATH       LLM GGUF (default: $INTERNVL_LENS_MODEL)
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
  --refine MODE      after locating, look again zoomed in around each box: auto (when the grid
                     shrinks the image by more than 1.5×), always or off (default ${DEFAULTS['grounding.refine']})
  --verbose          llama-server's (or the remote requests') log on stderr`;

/** The parsed engine flags (as parseArgs gives them). */
export interface EngineFlagValues {
  model?: string;
  mmproj?: string;
  context?: string;
  'gpu-layers'?: string;
  threads?: string;
  'max-tokens'?: string;
  'max-tiles'?: string;
  endpoint?: string;
  'remote-model'?: string;
  timeout?: string;
  'llama-server'?: string;
  refine?: string;
  verbose?: boolean;
}

export type CliLog = (level: string, message: string) => void;

export interface EngineSetup {
  engine: Engine;
  /** Most 448-px tiles per image (--max-tiles). */
  maxTiles: number;
  /** Most tokens per answer (--max-tokens). */
  maxTokens: number;
  /** The local engine's context in tokens (--context); null for a remote server (it has its own). */
  contextSize: number | null;
  /** Zoom-in refine after a locate (--refine). */
  refine: RefineMode;
  log: CliLog;
}

/** Where per-user caches go: $XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%, else ~/.cache. */
function cacheDir(): string {
  if (process.env.XDG_CACHE_HOME) return process.env.XDG_CACHE_HOME;
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches');
  if (process.platform === 'win32' && process.env.LOCALAPPDATA) return process.env.LOCALAPPDATA;
  return join(homedir(), '.cache');
}

export function integerFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${value}`);
  return n;
}

/** Builds the engine the flags ask for (nothing starts until its first request). */
export function engineFromFlags(values: EngineFlagValues): EngineSetup {
  const verbose = values.verbose === true;
  const log: CliLog = (level, message) => {
    // Warnings always: they say what to change (an API key sent in clear, a GPU that failed).
    if (verbose || level === 'error' || level === 'warn') process.stderr.write(`[${level}] ${message}\n`);
  };
  const maxTiles = clampMaxTiles(integerFlag(values['max-tiles'], 'max-tiles', DEFAULTS.maxTiles));
  const maxTokens = integerFlag(values['max-tokens'], 'max-tokens', DEFAULTS.maxTokens);
  if (maxTokens < 1) throw new UsageError(`--max-tokens must be at least 1, got ${maxTokens}`);
  const refine = refineModeOf(values.refine);
  if (values.refine !== undefined && values.refine !== refine) throw new UsageError(`--refine must be ${REFINE_MODES.join(', ')}; got ${values.refine}`);
  let engine: Engine;
  let contextSize: number | null = null;
  if (values.endpoint !== undefined) {
    if (values.model || values.mmproj) throw new UsageError('--endpoint asks a server: --model and --mmproj are for the local engine');
    const settings = {
      endpoint: values.endpoint,
      model: values['remote-model'] ?? '',
      timeoutSeconds: integerFlag(values.timeout, 'timeout', DEFAULT_REMOTE_TIMEOUT_SECONDS),
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
      contextSize: integerFlag(values.context, 'context', DEFAULTS.contextSize),
      gpuLayers: integerFlag(values['gpu-layers'], 'gpu-layers', DEFAULTS.gpuLayers),
      threads: integerFlag(values.threads, 'threads', DEFAULTS.threads),
      idleUnloadMinutes: 0,
      maxTiles,
    };
    contextSize = settings.contextSize;
    const configuredPath = values['llama-server'] ?? process.env.INTERNVL_LENS_LLAMA_SERVER ?? '';
    engine = new LocalEngine({
      settings: () => settings,
      // dist/cli.js: the extension's root is one folder up; the built-in build unpacks into the user's cache.
      server: () => chooseLlamaServer({ extensionPath: join(__dirname, '..'), storagePath: join(cacheDir(), 'internvl-lens'), configuredPath: configuredPath && resolve(configuredPath), log: (m) => log('info', m) }),
      log,
    });
  }
  return { engine, maxTiles, maxTokens, contextSize, refine, log };
}
