// The chat webview's host surface: in the sidebar view and, on request, in editor panels — every
// copy shows the same Conversation. Owns the webviews (HTML, lifecycle, readiness) and what is
// posted to them; messages from them go through the router (router.ts → chatHandlers.ts), the
// composer's images are composer.ts's, the view shapes viewModel.ts's.
import * as vscode from 'vscode';
import type { HostMessage } from '../protocol/webview';
import type { EngineState } from '../engine/engine';
import type { Attachment, AttachmentStore } from './attachments';
import { chatHandlers, type ChatHandlerServices, clearHistory } from './chatHandlers';
import { Composer } from './composer';
import type { Conversation } from './conversation';
import type { TurnRecord } from './records';
import type { HistoryStore } from './history';
import { createRouter, type WebviewRouter } from './router';
import { historyMessage, pendingMessage, snapshotMessage, turnView, type ViewTarget } from './viewModel';
import { webviewHtml } from '../webviewHtml';

export const CHAT_VIEW_TYPE = 'internvlLens.chat';
export const CHAT_PANEL_TYPE = 'internvlLens.chatPanel';

export interface ChatViewServices {
  extensionUri: vscode.Uri;
  /** Folders the webview may load images from (stored attachments, history). */
  imageRoots: vscode.Uri[];
  conversation: Conversation;
  attachments: AttachmentStore;
  history: HistoryStore;
  engineState: { onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } };
  log: (message: string) => void;
}

interface Surface {
  webview: vscode.Webview;
  ready: boolean;
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | null = null;
  private readonly surfaces = new Set<Surface>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly composer: Composer;
  private readonly handlerServices: ChatHandlerServices<Surface>;
  private readonly route: WebviewRouter<Surface>;
  /**
   * Images whose display copy already went inline (data: URI) in a message: a fresh capture goes
   * inline once, the webview keeps that image element (by id) after, later messages name the file.
   */
  private readonly sentInline = new Set<string>();

  constructor(private readonly s: ChatViewServices) {
    const { conversation } = s;
    this.composer = new Composer(s.attachments, (error) => this.postPending(error));
    this.handlerServices = {
      conversation,
      composer: this.composer,
      attachments: s.attachments,
      history: s.history,
      log: s.log,
      ready: (surface) => this.ready(surface),
      reply: (surface, msg) => this.postTo(surface, msg),
      postHistory: () => this.postHistory(),
    };
    this.route = createRouter(chatHandlers(this.handlerServices), s.log);
    this.disposables.push(
      conversation.onEvent((e) => {
        if (e.type === 'token') {
          this.post({ type: 'token', turnId: e.turnId, text: e.text });
          return;
        }
        if (e.type === 'rate') {
          const { tokensPerSecond, tokens, approximate } = e.rate;
          this.post({ type: 'progress', turnId: e.turnId, progress: { phase: 'generating', tokensPerSecond, tokens, approximate } });
          return;
        }
        // The Conversation saves itself; the history list follows what it shows.
        if (e.type === 'turn') {
          this.postTurn(e.turn);
          if (e.turn.status === 'streaming' && !e.turn.answer) this.postEncoding(e.turn);
          else if (e.turn.status !== 'streaming') void this.postHistory();
        } else {
          this.postSnapshot();
          void this.postHistory();
        }
      }),
      s.engineState.onDidChangeState((state) => {
        const turn = this.runningTurn();
        if (turn && state.kind === 'loading') this.post({ type: 'progress', turnId: turn.id, progress: { phase: 'loading', percent: state.progress === null ? null : state.progress * 100 } });
        else if (turn && state.kind === 'busy' && !turn.answer) this.postEncoding(turn);
      }),
    );
  }

  private runningTurn(): TurnRecord | undefined {
    return this.s.conversation.turns.find((t) => t.status === 'streaming');
  }

  /** Image tiles the model encodes for a turn that has not answered yet (a spinner when it has none). */
  private postEncoding(turn: TurnRecord): void {
    const tiles = turn.images.reduce((n, a) => n + a.tiles, 0);
    this.post({ type: 'progress', turnId: turn.id, progress: { phase: 'encoding', tiles } });
  }

  /** Shows the chat view, creating its webview if needed. */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_TYPE}.focus`);
  }

  /** Opens the chat in an editor tab (another view of the same conversation). */
  openInEditor(): void {
    const panel = vscode.window.createWebviewPanel(CHAT_PANEL_TYPE, 'InternVL Lens Chat', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: this.resourceRoots(),
    });
    panel.iconPath = vscode.Uri.joinPath(this.s.extensionUri, 'media', 'lens.svg');
    const surface = this.attach(panel.webview, CHAT_PANEL_TYPE);
    panel.onDidDispose(() => this.surfaces.delete(surface), null, this.disposables);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: this.resourceRoots() };
    const surface = this.attach(view.webview, CHAT_VIEW_TYPE);
    this.disposables.push(
      view.onDidDispose(() => {
        this.surfaces.delete(surface);
        if (this.view === view) this.view = null;
      }),
    );
  }

  /** Puts a stored image in the composer, waiting for a question (a capture whose question box was dismissed). */
  addToComposer(attachment: Attachment): Promise<void> {
    return this.composer.attach(() => Promise.resolve(attachment));
  }

  /** Clear All, from the command palette (asks first). */
  clearHistory(): Promise<void> {
    return clearHistory(this.handlerServices);
  }

  private resourceRoots(): vscode.Uri[] {
    return [vscode.Uri.joinPath(this.s.extensionUri, 'dist'), vscode.Uri.joinPath(this.s.extensionUri, 'media'), ...this.s.imageRoots];
  }

  private attach(webview: vscode.Webview, viewType: string): Surface {
    const surface: Surface = { webview, ready: false };
    this.surfaces.add(surface);
    webview.html = webviewHtml(webview, this.s.extensionUri, {
      viewType,
      title: 'InternVL Lens',
      script: 'webview.js',
      style: 'webview.css',
      body: '<main id="app"></main>',
      imgSources: ['data:'],
    });
    this.disposables.push(webview.onDidReceiveMessage((raw: unknown) => void this.route(surface, raw)));
    return surface;
  }

  /** A webview said it is ready: until then messages would be lost, so it gets everything now. */
  private ready(surface: Surface): void {
    surface.ready = true;
    this.postTo(surface, snapshotMessage(this.s.conversation.turns, this.target(surface)));
    this.postTo(surface, pendingMessage(this.composer.images, null, this.target(surface)));
    void this.postHistory(surface);
  }

  /** How domain objects are named in `surface`'s messages (image URIs are made per webview). */
  private target(surface: Surface): ViewTarget {
    return {
      uri: (path) => surface.webview.asWebviewUri(vscode.Uri.file(path)).toString(),
      inline: (a) => (this.sentInline.has(a.id) ? undefined : a.displayInline),
    };
  }

  private postPending(error: string | null): void {
    for (const s of this.surfaces) this.postTo(s, pendingMessage(this.composer.images, error, this.target(s)));
  }

  private async postHistory(only?: Surface): Promise<void> {
    const msg = historyMessage(await this.s.history.list(), this.s.conversation);
    for (const s of only ? [only] : this.surfaces) this.postTo(s, msg);
  }

  private postSnapshot(): void {
    for (const s of this.surfaces) this.postTo(s, snapshotMessage(this.s.conversation.turns, this.target(s)));
  }

  private post(msg: HostMessage): void {
    for (const s of this.surfaces) this.postTo(s, msg);
  }

  private postTurn(turn: TurnRecord): void {
    for (const s of this.surfaces) this.postTo(s, { type: 'turn', turn: turnView(turn, this.target(s)) });
    const shown: Attachment[] = [...turn.images, ...(turn.target ? [turn.target] : [])];
    for (const a of shown) if (a.displayInline) this.sentInline.add(a.id);
  }

  private postTo(surface: Surface, msg: HostMessage): void {
    // Until a webview says it is ready, messages would be lost; it gets a snapshot then.
    if (surface.ready) void surface.webview.postMessage(msg);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
