// The only reader of InternVL Lens settings. No runtime import of `vscode` here, so engine code
// that names settings can also run in the CLI and in tests.
import { homedir } from 'node:os';
import type * as vscode from 'vscode';
import { clampMaxTiles, MAX_TILES } from './images/tiling';

export const SECTION = 'internvlLens';

/** Full setting names, for messages and "Open Settings" buttons. */
export const Settings = {
  modelPath: `${SECTION}.modelPath`,
  mmprojPath: `${SECTION}.mmprojPath`,
  contextSize: `${SECTION}.contextSize`,
  gpuLayers: `${SECTION}.gpuLayers`,
  threads: `${SECTION}.threads`,
  maxTokens: `${SECTION}.maxTokens`,
  maxTiles: `${SECTION}.maxTiles`,
  captureRetentionDays: `${SECTION}.captureRetentionDays`,
  idleUnloadMinutes: `${SECTION}.idleUnloadMinutes`,
  engine: `${SECTION}.engine`,
  remoteEndpoint: `${SECTION}.remote.endpoint`,
  remoteModel: `${SECTION}.remote.model`,
  remoteTimeoutSeconds: `${SECTION}.remote.requestTimeoutSeconds`,
  modelsDirectory: `${SECTION}.modelsDirectory`,
  historyRetentionDays: `${SECTION}.historyRetentionDays`,
  llamaServerPath: `${SECTION}.llamaServerPath`,
  ffmpegPath: `${SECTION}.ffmpegPath`,
  groundingRefine: `${SECTION}.grounding.refine`,
} as const;

/**
 * Every setting's default, by its name under SECTION: the one home of them. package.json's
 * `default`s and the CLI's usage text say the same (test/unit/one-home.test.ts checks the manifest).
 */
export const DEFAULTS = {
  modelPath: '',
  mmprojPath: '',
  contextSize: 8192,
  gpuLayers: -1,
  threads: 0,
  maxTokens: 1024,
  maxTiles: MAX_TILES,
  captureRetentionDays: 7,
  idleUnloadMinutes: 15,
  engine: 'local',
  'remote.endpoint': '',
  'remote.model': '',
  'remote.requestTimeoutSeconds': 120,
  modelsDirectory: '',
  historyRetentionDays: 90,
  llamaServerPath: '',
  ffmpegPath: '',
  'grounding.refine': 'auto',
} as const;

/** A setting's name under SECTION (`remote.endpoint`), as package.json and getConfiguration(SECTION) name it. */
export type SettingKey = keyof typeof DEFAULTS;

/** Where the model runs: the local llama-server, or an OpenAI-compatible server elsewhere. */
export type EngineKind = 'local' | 'remote';

/** The SecretStorage key of the remote server's API key (never a setting: settings sync and leak). */
export const REMOTE_API_KEY_SECRET = `${SECTION}.remote.apiKey`;
/** The environment variable the CLI reads the remote server's API key from. */
export const REMOTE_API_KEY_ENV = 'INTERNVL_LENS_API_KEY';
export const DEFAULT_REMOTE_TIMEOUT_SECONDS = DEFAULTS['remote.requestTimeoutSeconds'];

/**
 * Zoom-in refine after a locate pass (src/images/refine.ts): `auto` when the tile grid shrinks the
 * image by more than REFINE_AUTO_SHRINK, `always`, or `off`.
 */
export const REFINE_MODES = ['auto', 'always', 'off'] as const;
export type RefineMode = (typeof REFINE_MODES)[number];

/** A refine mode as a setting, option or flag gives it; anything else is the default. */
export function refineModeOf(value: unknown): RefineMode {
  return REFINE_MODES.includes(value as RefineMode) ? (value as RefineMode) : DEFAULTS['grounding.refine'];
}

export interface LensConfig {
  modelPath: string;
  mmprojPath: string;
  contextSize: number;
  gpuLayers: number;
  threads: number;
  maxTokens: number;
  /** Most 448-px tiles per image (1–12): fewer is faster, more sees finer detail. */
  maxTiles: number;
  /** Days captured images stay in the extension's storage; 0 keeps them until Clear Captures. */
  captureRetentionDays: number;
  idleUnloadMinutes: number;
  engine: EngineKind;
  /** Base URL of an OpenAI-compatible server, e.g. `http://gpu-box:23333/v1`; '' when not set. */
  remoteEndpoint: string;
  /** The served model to ask; '' picks the first one the server lists. */
  remoteModel: string;
  /** Longest wait for the server to start answering, and between two streamed pieces. */
  remoteTimeoutSeconds: number;
  /** Where Download Model… stores files; empty: the extension's global storage. */
  modelsDirectory: string;
  /** Days a saved conversation is kept after its last change; 0 keeps them until deleted. */
  historyRetentionDays: number;
  /** internvlLens.llamaServerPath: one's own llama-server; '' uses the chosen runtime. */
  llamaServerPath: string;
  /** internvlLens.ffmpegPath: the ffmpeg that reads videos; '' finds it on PATH. */
  ffmpegPath: string;
  /** internvlLens.grounding.refine: a second, zoomed-in pass after locating. */
  refine: RefineMode;
}

function expandHome(p: string): string {
  const trimmed = p.trim();
  return trimmed === '~' || trimmed.startsWith('~/') ? homedir() + trimmed.slice(1) : trimmed;
}

function positiveOr(value: number, fallback: number): number {
  return typeof value === 'number' && value > 0 ? value : fallback;
}

export function readConfig(workspace: typeof vscode.workspace): LensConfig {
  const c = workspace.getConfiguration(SECTION);
  const get = <K extends SettingKey>(key: K): (typeof DEFAULTS)[K] extends string ? string : number => c.get(key, DEFAULTS[key]) as never;
  return {
    modelPath: expandHome(get('modelPath')),
    mmprojPath: expandHome(get('mmprojPath')),
    contextSize: get('contextSize'),
    gpuLayers: get('gpuLayers'),
    threads: get('threads'),
    maxTokens: get('maxTokens'),
    maxTiles: clampMaxTiles(get('maxTiles')),
    captureRetentionDays: get('captureRetentionDays'),
    idleUnloadMinutes: get('idleUnloadMinutes'),
    engine: get('engine') === 'remote' ? 'remote' : 'local',
    remoteEndpoint: get('remote.endpoint').trim(),
    remoteModel: get('remote.model').trim(),
    remoteTimeoutSeconds: positiveOr(get('remote.requestTimeoutSeconds'), DEFAULT_REMOTE_TIMEOUT_SECONDS),
    modelsDirectory: expandHome(get('modelsDirectory')),
    historyRetentionDays: get('historyRetentionDays'),
    llamaServerPath: expandHome(get('llamaServerPath')),
    ffmpegPath: expandHome(get('ffmpegPath')),
    refine: refineModeOf(get('grounding.refine')),
  };
}

/**
 * Changes a setting: the one way the extension writes one. `where`: the user's settings, or the
 * workspace's.
 */
export async function writeSetting<K extends SettingKey>(workspace: typeof vscode.workspace, key: K, value: (typeof DEFAULTS)[K] extends string ? string : number, where: 'user' | 'workspace' = 'user'): Promise<void> {
  await workspace.getConfiguration(SECTION).update(key, value, where === 'user');
}

/** Whether the open workspace (or one of its folders) sets `key` itself, winning over the user's value. */
export function setInWorkspace(workspace: typeof vscode.workspace, key: SettingKey): boolean {
  const inspect = workspace.getConfiguration(SECTION).inspect(key);
  return inspect?.workspaceValue !== undefined || inspect?.workspaceFolderValue !== undefined;
}

/** Calls `listener` when any InternVL Lens setting changes. */
export function onConfigChange(workspace: typeof vscode.workspace, listener: () => void): vscode.Disposable {
  return workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}
