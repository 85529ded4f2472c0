import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { restoreHistory, clearHistory, newChat, notifyFailures, openChat, openChatInEditor, showLog, stopGeneration, trackBusy } from './chat';
import { captureRegion, captureScreen, captureWindowCommand, clearCaptures, pasteImage, scheduleRetention } from './capture';
import { explainMermaid } from './diagram';
import { explainImage } from './explain';
import { exportAnnotated, ground, locateElement } from './grounding';
import { ASK_ABOUT_FOLDER, askAboutFolder } from './batch';
import { SET_UP_MCP_SERVER, setUpMcpServer } from './mcp';
import { DOWNLOAD_MODEL, downloadModel, TRY_SAMPLE_IMAGE, trySampleImage, USE_EXISTING_MODEL, useExistingModel } from './models';
import { CHOOSE_RUNTIME, chooseRuntime, offerRuntimeOnFirstLoad } from './runtime';

type CommandFactory = (ctx: LensContext) => (...args: never[]) => unknown;

/** Every command the manifest contributes, each a factory over the context. */
const COMMANDS: Record<string, CommandFactory> = {
  'internvlLens.explainImage': explainImage,
  'internvlLens.openChat': openChat,
  'internvlLens.openChatInEditor': openChatInEditor,
  'internvlLens.clearHistory': clearHistory,
  'internvlLens.newChat': newChat,
  'internvlLens.stop': stopGeneration,
  'internvlLens.showLog': showLog,
  'internvlLens.locateElement': locateElement,
  'internvlLens.exportAnnotated': exportAnnotated,
  'internvlLens.ground': ground,
  'internvlLens.captureScreen': captureScreen,
  'internvlLens.captureWindow': captureWindowCommand,
  'internvlLens.captureRegion': captureRegion,
  'internvlLens.pasteImage': pasteImage,
  'internvlLens.clearCaptures': clearCaptures,
  'internvlLens.explainMermaid': explainMermaid,
  [DOWNLOAD_MODEL]: downloadModel,
  [USE_EXISTING_MODEL]: useExistingModel,
  [TRY_SAMPLE_IMAGE]: trySampleImage,
  [CHOOSE_RUNTIME]: chooseRuntime,
  [SET_UP_MCP_SERVER]: setUpMcpServer,
  [ASK_ABOUT_FOLDER]: askAboutFolder,
};

export function registerCommands(ctx: LensContext): void {
  for (const [name, factory] of Object.entries(COMMANDS)) {
    ctx.push(vscode.commands.registerCommand(name, factory(ctx)));
  }
  ctx.push(notifyFailures(ctx), trackBusy(ctx), scheduleRetention(ctx), restoreHistory(ctx), offerRuntimeOnFirstLoad(ctx));
}
