// The only reader of InternVL Lens settings. No runtime import of `vscode` here, so engine code
// that names settings can also run in the CLI and in tests.
import { homedir } from 'node:os';
import type * as vscode from 'vscode';
import { MAX_TILES } from './images/tiling';

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
} as const;

/** Where the model runs: the local llama-server, or an OpenAI-compatible server elsewhere. */
export type EngineKind = 'local' | 'remote';

/** The SecretStorage key of the remote server's API key (never a setting: settings sync and leak). */
export const REMOTE_API_KEY_SECRET = `${SECTION}.remote.apiKey`;
/** The environment variable the CLI reads the remote server's API key from. */
export const REMOTE_API_KEY_ENV = 'INTERNVL_LENS_API_KEY';
export const DEFAULT_REMOTE_TIMEOUT_SECONDS = 120;

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
  return {
    modelPath: expandHome(c.get<string>('modelPath', '')),
    mmprojPath: expandHome(c.get<string>('mmprojPath', '')),
    contextSize: c.get<number>('contextSize', 8192),
    gpuLayers: c.get<number>('gpuLayers', -1),
    threads: c.get<number>('threads', 0),
    maxTokens: c.get<number>('maxTokens', 1024),
    maxTiles: Math.min(MAX_TILES, Math.max(1, Math.round(c.get<number>('maxTiles', MAX_TILES)))),
    captureRetentionDays: c.get<number>('captureRetentionDays', 7),
    idleUnloadMinutes: c.get<number>('idleUnloadMinutes', 15),
    engine: c.get<string>('engine', 'local') === 'remote' ? 'remote' : 'local',
    remoteEndpoint: c.get<string>('remote.endpoint', '').trim(),
    remoteModel: c.get<string>('remote.model', '').trim(),
    remoteTimeoutSeconds: positiveOr(c.get<number>('remote.requestTimeoutSeconds', DEFAULT_REMOTE_TIMEOUT_SECONDS), DEFAULT_REMOTE_TIMEOUT_SECONDS),
    modelsDirectory: expandHome(c.get<string>('modelsDirectory', '')),
    historyRetentionDays: c.get<number>('historyRetentionDays', 90),
    llamaServerPath: expandHome(c.get<string>('llamaServerPath', '')),
  };
}

/** Calls `listener` when any InternVL Lens setting changes. */
export function onConfigChange(workspace: typeof vscode.workspace, listener: () => void): vscode.Disposable {
  return workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}
