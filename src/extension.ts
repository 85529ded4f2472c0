import * as vscode from 'vscode';
import { CHAT_VIEW_TYPE } from './chat/chatView';
import { registerCommands } from './commands';
import { registerEngineStatus } from './commands/engine';
import { LensContext } from './context';
import { registerLmTools } from './tools/lmTools';

let active: LensContext | null = null;

export function activate(extension: vscode.ExtensionContext): void {
  const ctx = new LensContext(extension);
  active = ctx;
  extension.subscriptions.push(ctx);
  ctx.push(vscode.window.registerWebviewViewProvider(CHAT_VIEW_TYPE, ctx.chatView, { webviewOptions: { retainContextWhenHidden: true } }));
  registerCommands(ctx);
  registerEngineStatus(ctx);
  registerLmTools(ctx);
}

/** VS Code waits for this before it disposes the subscriptions: the conversation is stored first. */
export function deactivate(): Promise<void> | undefined {
  return active?.shutdown();
}
