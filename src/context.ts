// The one object that owns InternVL Lens's services and disposables.
import * as vscode from 'vscode';
import { readConfig, REMOTE_API_KEY_SECRET, Settings, type EngineKind, type LensConfig } from './config';
import { AttachmentStore } from './chat/attachments';
import { ChatViewProvider } from './chat/chatView';
import { Conversation } from './chat/conversation';
import { HistoryStore } from './chat/history';
import type { Engine } from './engine/engine';
import { LocalEngine } from './engine/local/localEngine';
import { chooseLlamaServer, parseRuntimeChoice, RUNTIME_CHOICE_KEY } from './engine/local/runtimes/choose';
import { RemoteEngine } from './engine/remote/remoteEngine';
import { SwitchableEngine } from './engine/switchable';

/** Settings that change which server or model the remote engine talks to. */
const REMOTE_CONNECTION_SETTINGS = [Settings.remoteEndpoint, Settings.remoteModel, Settings.remoteTimeoutSeconds];

export class LensContext implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  /** Local or remote, as `internvlLens.engine` says; swapped when it changes. */
  readonly engine: SwitchableEngine;
  readonly attachments: AttachmentStore;
  readonly conversation: Conversation;
  readonly history: HistoryStore;
  readonly chatView: ChatViewProvider;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('InternVL Lens', { log: true });
    this.engine = new SwitchableEngine((kind) => this.buildEngine(kind), this.config.engine);
    const attachmentsUri = vscode.Uri.joinPath(extension.globalStorageUri, 'attachments');
    this.attachments = new AttachmentStore(attachmentsUri.fsPath, { maxTiles: () => this.config.maxTiles });
    const historyUri = vscode.Uri.joinPath(extension.globalStorageUri, 'history');
    this.history = new HistoryStore(historyUri.fsPath, this.attachments.modelDir, (m) => this.output.warn(m));
    this.conversation = new Conversation({
      engine: () => this.engine,
      chatOptions: () => ({ maxTokens: this.config.maxTokens, temperature: 0 }),
      log: (m) => this.output.debug(m),
      store: this.history,
      prepareImages: (images) => this.history.ensureModelCopies(images),
      refine: () => ({ mode: this.config.refine, maxTiles: this.config.maxTiles, outDir: this.attachments.modelDir }),
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
    this.disposables.push(
      this.output,
      this.chatView,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(Settings.engine)) void this.engine.use(this.config.engine);
        // A new server or model: forget the connection, so the status bar and the next question use the new one.
        else if (this.engine.kind === 'remote' && REMOTE_CONNECTION_SETTINGS.some((s) => e.affectsConfiguration(s))) void this.engine.unload();
      }),
      extension.secrets.onDidChange((e) => {
        if (e.key === REMOTE_API_KEY_SECRET && this.engine.kind === 'remote') void this.engine.unload();
      }),
    );
  }

  private buildEngine(kind: EngineKind): Engine {
    const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => this.output[level](message);
    if (kind === 'remote') {
      log('info', 'engine: remote (OpenAI-compatible server)');
      return new RemoteEngine({
        settings: () => {
          const c = this.config;
          return { endpoint: c.remoteEndpoint, model: c.remoteModel, timeoutSeconds: c.remoteTimeoutSeconds, maxTiles: c.maxTiles };
        },
        apiKey: async () => this.extension.secrets.get(REMOTE_API_KEY_SECRET),
        log,
      });
    }
    return new LocalEngine({
      settings: () => this.config,
      server: () =>
        chooseLlamaServer({
          extensionPath: this.extension.extensionPath,
          storagePath: this.extension.globalStorageUri.fsPath,
          configuredPath: this.config.llamaServerPath,
          choice: parseRuntimeChoice(this.extension.globalState.get(RUNTIME_CHOICE_KEY)),
          log: (m) => log('info', m),
        }),
      log,
    });
  }

  get config(): LensConfig {
    return readConfig(vscode.workspace);
  }

  push(...disposables: vscode.Disposable[]): void {
    this.disposables.push(...disposables);
  }

  /** Stops the running answer and resolves once the conversation is on disk (deactivate waits for it). */
  shutdown(): Promise<void> {
    return this.conversation.dispose();
  }

  dispose(): void {
    void this.conversation.dispose();
    void this.engine.dispose();
    for (const d of this.disposables.reverse()) d.dispose();
  }
}
