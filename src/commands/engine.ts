// The engine's face in the status bar: what is loaded and what it is doing, and a menu to load,
// unload or restart it and to open the log. In remote mode it names the server and model, and the
// API key commands keep the key in VS Code's SecretStorage.
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import type { EngineState } from '../engine/engine';
import { modelDisplayName } from '../engine/local/preflight';
import { parseEndpoint } from '../engine/remote/endpoint';
import { type EngineKind, onConfigChange, REMOTE_API_KEY_SECRET, SECTION, Settings, writeSetting } from '../config';
import { userErrorOf } from '../userError';
import { COMMANDS } from './ids';
import { showError } from './showError';

/**
 * What the status bar says for a state; `configured` names the configured model (its one name, as
 * the loaded model is named: modelDisplayName) while none is loaded.
 */
export function describeEngineState(state: EngineState, configured: string | null): { text: string; tooltip: string; error: boolean } {
  switch (state.kind) {
    case 'idle':
      return configured
        ? { text: `$(circle-outline) ${configured}`, tooltip: `InternVL Lens: ${configured} is not loaded; it loads on the first question.`, error: false }
        : { text: '$(circle-slash) InternVL: no model', tooltip: `InternVL Lens: no model is set (${Settings.modelPath}).`, error: false };
    case 'loading':
      return {
        text: `$(loading~spin) ${configured ?? 'InternVL'}: loading${state.progress === null ? '' : ` ${Math.round(state.progress * 100)}%`}`,
        tooltip: `InternVL Lens: loading ${configured ?? 'the model'}`,
        error: false,
      };
    case 'ready':
      return { text: `$(check) ${state.modelName}`, tooltip: `InternVL Lens: ${state.modelName} ready (${state.backend}${state.vision ? '' : ', text only'})`, error: false };
    case 'busy':
      return {
        text: `$(sync~spin) ${state.modelName}${state.queued ? ` +${state.queued} queued` : ''}`,
        tooltip: `InternVL Lens: answering${state.queued ? `; ${state.queued} more waiting` : ''} (${state.backend})`,
        error: false,
      };
    case 'error':
      return { text: '$(error) InternVL: error', tooltip: `InternVL Lens: ${state.message}`, error: true };
  }
}

/** What the status bar says in remote mode: `remote: host/model`, the model once the server named it. */
export function describeRemoteState(state: EngineState, endpoint: string, configuredModel: string): { text: string; tooltip: string; error: boolean } {
  let host: string;
  try {
    host = parseEndpoint(endpoint).hostname;
  } catch {
    return { text: '$(cloud) remote: not set', tooltip: `InternVL Lens: no server is set (${Settings.remoteEndpoint}).`, error: state.kind === 'error' };
  }
  const model = state.kind === 'ready' || state.kind === 'busy' ? state.modelName : configuredModel || 'first model';
  const name = `remote: ${host}/${model}`;
  switch (state.kind) {
    case 'idle':
      return { text: `$(cloud) ${name}`, tooltip: `InternVL Lens: ${endpoint}, ${configuredModel ? `model ${configuredModel}` : 'the first model it lists'}; connects on the first question.`, error: false };
    case 'loading':
      return { text: `$(loading~spin) ${name}`, tooltip: `InternVL Lens: connecting to ${endpoint}`, error: false };
    case 'ready':
      return { text: `$(cloud) ${name}`, tooltip: `InternVL Lens: ${state.modelName} at ${endpoint}`, error: false };
    case 'busy':
      return {
        text: `$(sync~spin) ${name}${state.queued ? ` +${state.queued} queued` : ''}`,
        tooltip: `InternVL Lens: answering${state.queued ? `; ${state.queued} more waiting` : ''} (${endpoint})`,
        error: false,
      };
    case 'error':
      return { text: `$(error) ${name}`, tooltip: `InternVL Lens: ${state.message}`, error: true };
  }
}

async function run(ctx: LensContext, what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const error = userErrorOf(err);
    ctx.output.error(`${what}: ${error.message}`);
    await showError(error);
  }
}


/** Asks for the remote server's API key and keeps it in SecretStorage (never in settings or logs). */
export const setApiKey = (ctx: LensContext) => async () => {
  const endpoint = ctx.config.remoteEndpoint;
  const key = await vscode.window.showInputBox({
    title: 'InternVL Lens: API key of the remote server',
    prompt: `The key ${endpoint || 'the server'} expects as "Authorization: Bearer …". Stored in VS Code's secret storage.`,
    password: true,
    ignoreFocusOut: true,
    placeHolder: 'API key',
    validateInput: (v) => (v.trim() ? (/\s/.test(v.trim()) ? 'An API key has no spaces.' : null) : 'Enter the key, or press Escape to cancel.'),
  });
  if (key === undefined) return;
  await ctx.extension.secrets.store(REMOTE_API_KEY_SECRET, key.trim());
  ctx.output.info('remote: API key stored in secret storage');
  void vscode.window.showInformationMessage('InternVL Lens: API key stored in secret storage.');
};

export const clearApiKey = (ctx: LensContext) => async () => {
  const had = (await ctx.extension.secrets.get(REMOTE_API_KEY_SECRET)) !== undefined;
  await ctx.extension.secrets.delete(REMOTE_API_KEY_SECRET);
  ctx.output.info(had ? 'remote: API key removed from secret storage' : 'remote: no API key was stored');
  void vscode.window.showInformationMessage(had ? 'InternVL Lens: API key removed.' : 'InternVL Lens: no API key was stored.');
};

export const loadModel = (ctx: LensContext) => () => run(ctx, 'load', () => ctx.engine.load());
export const unloadModel = (ctx: LensContext) => () => run(ctx, 'unload', () => ctx.engine.unload());
export const restartEngine = (ctx: LensContext) => () => run(ctx, 'restart', () => ctx.engine.restart());

/** The status bar's words for the engine that runs now (the configured model named as it will be once loaded). */
async function describeCurrent(ctx: LensContext): Promise<{ text: string; tooltip: string; error: boolean }> {
  const config = ctx.config;
  if (ctx.engine.kind === 'remote') return describeRemoteState(ctx.engine.state, config.remoteEndpoint, config.remoteModel);
  return describeEngineState(ctx.engine.state, config.modelPath ? await modelDisplayName(config.modelPath) : null);
}

const SWITCH_ENGINE = 'internvlLens.switchEngine';

export const engineMenu = (ctx: LensContext) => async () => {
  const loaded = ctx.engine.state.kind === 'ready' || ctx.engine.state.kind === 'busy';
  const remote = ctx.engine.kind === 'remote';
  type Item = vscode.QuickPickItem & { command: string; args?: unknown[] };
  const items: Item[] = remote
    ? [
        { label: '$(plug) Test Connection', description: 'asks the server for its models', command: COMMANDS.loadModel },
        { label: '$(key) Set API Key', command: COMMANDS.setApiKey },
        { label: '$(trash) Clear API Key', command: COMMANDS.clearApiKey },
        { label: '$(vm) Use the Local Model', description: `${Settings.engine}: local`, command: SWITCH_ENGINE, args: ['local'] },
      ]
    : [
        ...(loaded ? [] : [{ label: '$(play) Load Model', command: COMMANDS.loadModel }]),
        ...(loaded ? [{ label: '$(debug-stop) Unload Model', description: 'frees its memory', command: COMMANDS.unloadModel }] : []),
        { label: '$(cloud-download) Download Model…', command: COMMANDS.downloadModel },
        { label: '$(folder-opened) Use Existing Model Files…', command: COMMANDS.useExistingModel },
        { label: '$(debug-restart) Restart Inference Engine', command: COMMANDS.restartEngine },
        { label: '$(cloud) Use a Remote Server', description: `${Settings.engine}: remote`, command: SWITCH_ENGINE, args: ['remote'] },
      ];
  items.push({ label: '$(output) Show Log', command: COMMANDS.showLog }, { label: '$(gear) Model Settings', command: 'workbench.action.openSettings', args: [SECTION] });
  const picked = await vscode.window.showQuickPick(items, { title: (await describeCurrent(ctx)).tooltip });
  if (!picked) return;
  if (picked.command === SWITCH_ENGINE) {
    await writeSetting(vscode.workspace, 'engine', picked.args![0] as EngineKind);
    if (picked.args![0] === 'remote' && !ctx.config.remoteEndpoint) await vscode.commands.executeCommand('workbench.action.openSettings', Settings.remoteEndpoint);
    return;
  }
  await vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
};

/** The status bar item, following the engine's state; a load notice (e.g. CPU fallback) is shown once. */
export function engineStatusBar(ctx: LensContext): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('internvlLens.engine', vscode.StatusBarAlignment.Right, 100);
  item.name = 'InternVL Lens Model';
  item.command = COMMANDS.engineMenu;
  const shownNotices = new Set<string>();
  // Reading the configured model's name is asynchronous: only the newest update is shown, and the
  // item appears once it has its first words (never a file name that the model's name then replaces).
  let latest = 0;
  const update = async (state: EngineState) => {
    if (state.kind === 'ready' && state.notice && !shownNotices.has(state.notice)) {
      shownNotices.add(state.notice);
      void vscode.window.showWarningMessage(`InternVL Lens: ${state.notice}`);
    }
    const mine = ++latest;
    const view = await describeCurrent(ctx);
    if (mine !== latest) return;
    item.text = view.text;
    item.tooltip = view.tooltip;
    item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.show();
  };
  void update(ctx.engine.state);
  const sub = ctx.engine.onDidChangeState((state) => void update(state));
  // With no model loaded the item names the configured model (or server): follow the settings.
  const config = onConfigChange(vscode.workspace, () => void update(ctx.engine.state));
  return vscode.Disposable.from(item, config, { dispose: () => sub.dispose() });
}

/** Shows the engine's status bar item (its commands are in the table in index.ts). */
export function registerEngineStatus(ctx: LensContext): void {
  ctx.push(engineStatusBar(ctx));
}
