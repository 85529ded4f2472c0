import * as vscode from 'vscode';
import { CHAT_VIEW_TYPE } from './chat/chatView';
import { registerCommands } from './commands';
import { registerEngineStatus } from './commands/engine';
import { LensContext } from './context';

export function activate(extension: vscode.ExtensionContext): void {
  const ctx = new LensContext(extension);
  extension.subscriptions.push(ctx);
  ctx.push(vscode.window.registerWebviewViewProvider(CHAT_VIEW_TYPE, ctx.chatView, { webviewOptions: { retainContextWhenHidden: true } }));
  registerCommands(ctx);
  registerEngineStatus(ctx);
}

export function deactivate(): void {}
