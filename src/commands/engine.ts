// The engine's face in the status bar: what is loaded and what it is doing, and a menu to load,
// unload or restart it and to open the log.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import type { EngineState } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { onConfigChange, Settings } from '../config';
import { DOWNLOAD_MODEL, modelSetupActions, runModelSetupAction, USE_EXISTING_MODEL } from './models';

export const ENGINE_MENU_COMMAND = 'internvlLens.engineMenu';

/** What the status bar says for a state; `modelFile` names the configured model when none is loaded. */
export function describeEngineState(state: EngineState, modelFile: string | null): { text: string; tooltip: string; error: boolean } {
  switch (state.kind) {
    case 'idle':
      return modelFile
        ? { text: `$(circle-outline) ${modelFile}`, tooltip: `InternVL Lens: ${modelFile} is not loaded; it loads on the first question.`, error: false }
        : { text: '$(circle-slash) InternVL: no model', tooltip: `InternVL Lens: no model is set (${Settings.modelPath}).`, error: false };
    case 'loading':
      return {
        text: `$(loading~spin) InternVL: loading${state.progress === null ? '' : ` ${Math.round(state.progress * 100)}%`}`,
        tooltip: 'InternVL Lens: loading the model',
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

async function run(ctx: LensContext, what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.output.error(`${what}: ${message}`);
    const setting = err instanceof EngineError ? err.setting : undefined;
    const choice = await vscode.window.showErrorMessage(`InternVL Lens: ${message}`, ...modelSetupActions(setting), setting ? 'Open Settings' : 'Show Log');
    if (await runModelSetupAction(choice)) return;
    if (choice === 'Open Settings' && setting) void vscode.commands.executeCommand('workbench.action.openSettings', setting);
    else if (choice === 'Show Log') ctx.output.show(true);
  }
}

export const loadModel = (ctx: LensContext) => () => run(ctx, 'load', () => ctx.engine.load());
export const unloadModel = (ctx: LensContext) => () => run(ctx, 'unload', () => ctx.engine.unload());
export const restartEngine = (ctx: LensContext) => () => run(ctx, 'restart', () => ctx.engine.restart());

export const engineMenu = (ctx: LensContext) => async () => {
  const loaded = ctx.engine.state.kind === 'ready' || ctx.engine.state.kind === 'busy';
  const items: Array<vscode.QuickPickItem & { command: string }> = [
    ...(loaded ? [] : [{ label: '$(play) Load Model', command: 'internvlLens.loadModel' }]),
    ...(loaded ? [{ label: '$(debug-stop) Unload Model', description: 'frees its memory', command: 'internvlLens.unloadModel' }] : []),
    { label: '$(cloud-download) Download Model…', command: DOWNLOAD_MODEL },
    { label: '$(folder-opened) Use Existing Model Files…', command: USE_EXISTING_MODEL },
    { label: '$(debug-restart) Restart Inference Worker', command: 'internvlLens.restartEngine' },
    { label: '$(output) Show Log', command: 'internvlLens.showLog' },
    { label: '$(gear) Model Settings', command: 'workbench.action.openSettings' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: describeEngineState(ctx.engine.state, null).tooltip });
  if (picked) await vscode.commands.executeCommand(picked.command, ...(picked.command === 'workbench.action.openSettings' ? ['internvlLens'] : []));
};

/** The status bar item, following the engine's state; a load notice (e.g. CPU fallback) is shown once. */
export function engineStatusBar(ctx: LensContext): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('internvlLens.engine', vscode.StatusBarAlignment.Right, 100);
  item.name = 'InternVL Lens Model';
  item.command = ENGINE_MENU_COMMAND;
  const shownNotices = new Set<string>();
  const update = (state: EngineState) => {
    const modelPath = ctx.config.modelPath;
    const view = describeEngineState(state, modelPath ? basename(modelPath) : null);
    item.text = view.text;
    item.tooltip = view.tooltip;
    item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    if (state.kind === 'ready' && state.notice && !shownNotices.has(state.notice)) {
      shownNotices.add(state.notice);
      void vscode.window.showWarningMessage(`InternVL Lens: ${state.notice}`);
    }
  };
  update(ctx.engine.state);
  item.show();
  const sub = ctx.engine.onDidChangeState(update);
  // With no model loaded the item names the configured file: follow the setting.
  const config = onConfigChange(vscode.workspace, () => update(ctx.engine.state));
  return vscode.Disposable.from(item, config, { dispose: () => sub.dispose() });
}

/** Registers the engine commands and the status bar item. */
export function registerEngineStatus(ctx: LensContext): void {
  const commands: Record<string, (ctx: LensContext) => (...args: never[]) => unknown> = {
    [ENGINE_MENU_COMMAND]: engineMenu,
    'internvlLens.loadModel': loadModel,
    'internvlLens.unloadModel': unloadModel,
    'internvlLens.restartEngine': restartEngine,
  };
  for (const [name, factory] of Object.entries(commands)) ctx.push(vscode.commands.registerCommand(name, factory(ctx)));
  ctx.push(engineStatusBar(ctx));
}
