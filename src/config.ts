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
  historyRetentionDays: `${SECTION}.historyRetentionDays`,
} as const;

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
  /** Days a saved conversation is kept after its last change; 0 keeps them until deleted. */
  historyRetentionDays: number;
}

function expandHome(p: string): string {
  const trimmed = p.trim();
  return trimmed === '~' || trimmed.startsWith('~/') ? homedir() + trimmed.slice(1) : trimmed;
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
    historyRetentionDays: c.get<number>('historyRetentionDays', 90),
  };
}

/** Calls `listener` when any InternVL Lens setting changes. */
export function onConfigChange(workspace: typeof vscode.workspace, listener: () => void): vscode.Disposable {
  return workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) listener();
  });
}
