import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { restoreHistory, clearHistory, newChat, notifyFailures, openChat, openChatInEditor, showLog, stopGeneration, trackBusy } from './chat';
import { captureRegion, captureScreen, captureWindowCommand, clearCaptures, pasteImage, scheduleRetention } from './capture';
import { explainMermaid } from './diagram';
import { clearApiKey, engineMenu, loadModel, restartEngine, setApiKey, unloadModel } from './engine';
import { explainImage } from './explain';
import { exportAnnotated, ground, locateElement } from './grounding';
import { askAboutFolder } from './batch';
import { COMMANDS, type CommandName } from './ids';
import { setUpMcpServer } from './mcp';
import { downloadModel, trySampleImage, useExistingModel } from './models';
import { chooseRuntime, offerRuntimeOnFirstLoad } from './runtime';
import { explainVideo, explainVideoFrames, recordScreenCommand, stopRecording } from './video';

type CommandFactory = (ctx: LensContext) => (...args: never[]) => unknown;

/** What each command of the table (ids.ts) does: a factory over the context. Every id has one. */
const FACTORIES: Record<CommandName, CommandFactory> = {
  explainImage,
  openChat,
  openChatInEditor,
  clearHistory,
  newChat,
  stop: stopGeneration,
  showLog,
  engineMenu,
  loadModel,
  unloadModel,
  restartEngine,
  locateElement,
  exportAnnotated,
  ground,
  captureScreen,
  captureWindow: captureWindowCommand,
  captureRegion,
  pasteImage,
  clearCaptures,
  explainMermaid,
  setApiKey,
  clearApiKey,
  downloadModel,
  useExistingModel,
  trySampleImage,
  chooseRuntime,
  setUpMcpServer,
  askAboutFolder,
  explainVideo,
  explainVideoFrames,
  recordScreen: recordScreenCommand,
  stopRecording,
};

export function registerCommands(ctx: LensContext): void {
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    ctx.push(vscode.commands.registerCommand(COMMANDS[name], FACTORIES[name](ctx)));
  }
  ctx.push(notifyFailures(ctx), trackBusy(ctx), scheduleRetention(ctx), restoreHistory(ctx), offerRuntimeOnFirstLoad(ctx));
}
