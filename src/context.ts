// The one object that owns InternVL Lens's services and disposables.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { readConfig, type LensConfig } from './config';
import { AttachmentStore } from './chat/attachments';
import { ChatViewProvider } from './chat/chatView';
import { Conversation } from './chat/conversation';
import { HistoryStore } from './chat/history';
import type { Engine } from './engine/engine';
import { LocalEngine } from './engine/local/localEngine';

export class LensContext implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  readonly engine: Engine;
  readonly attachments: AttachmentStore;
  readonly conversation: Conversation;
  readonly history: HistoryStore;
  readonly chatView: ChatViewProvider;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('InternVL Lens', { log: true });
    const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => this.output[level](message);
    this.engine = new LocalEngine({
      workerPath: join(extension.extensionPath, 'dist', 'worker.js'),
      settings: () => this.config,
      log,
    });
    const attachmentsUri = vscode.Uri.joinPath(extension.globalStorageUri, 'attachments');
    this.attachments = new AttachmentStore(attachmentsUri.fsPath, { maxTiles: () => this.config.maxTiles });
    const historyUri = vscode.Uri.joinPath(extension.globalStorageUri, 'history');
    this.history = new HistoryStore(historyUri.fsPath, this.attachments.modelDir, (m) => this.output.warn(m));
    this.conversation = new Conversation({
      engine: () => this.engine,
      chatOptions: () => ({ maxTokens: this.config.maxTokens, temperature: 0 }),
      log: (m) => this.output.debug(m),
      prepareImages: (images) => this.history.ensureModelCopies(images),
    });
    this.chatView = new ChatViewProvider({
      extensionUri: extension.extensionUri,
      imageRoots: [attachmentsUri, historyUri],
      conversation: this.conversation,
      attachments: this.attachments,
      history: this.history,
      engineState: this.engine,
      log: (m) => this.output.warn(m),
    });
    this.disposables.push(this.output, this.chatView);
  }

  get config(): LensConfig {
    return readConfig(vscode.workspace);
  }

  push(...disposables: vscode.Disposable[]): void {
    this.disposables.push(...disposables);
  }

  dispose(): void {
    this.conversation.clear();
    void this.engine.dispose();
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
