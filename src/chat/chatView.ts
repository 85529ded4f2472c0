// The chat webview view in the sidebar: renders a Conversation and relays what the user does.
import * as vscode from 'vscode';
import { parseMessage } from '../protocol/validate';
import { type HostMessage, type ImageView, type RegionView, type TurnView, WebviewMessage } from '../protocol/webview';
import { presetPrompt, type Region } from '../grounding';
import { pixelCoordinates } from '../images';
import type { Attachment } from './attachments';
import type { Conversation, TurnRecord } from './conversation';
import { webviewHtml } from '../webviewHtml';

export const CHAT_VIEW_TYPE = 'internvlLens.chat';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | null = null;
  private ready = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly attachmentsDir: vscode.Uri,
    private readonly conversation: Conversation,
    private readonly log: (message: string) => void,
  ) {
    const sub = conversation.onEvent((e) => {
      if (e.type === 'token') this.post({ type: 'token', turnId: e.turnId, text: e.text });
      else if (e.type === 'turn') this.post({ type: 'turn', turn: this.turnView(e.turn) });
      else this.postSnapshot();
    });
    this.disposables.push(sub);
  }

  /** Shows the chat view, creating its webview if needed. */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_TYPE}.focus`);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const webview = view.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media'), this.attachmentsDir],
    };
    webview.html = this.html(webview);
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = null;
          this.ready = false;
        }
      }),
    );
  }

  private receive(raw: unknown): void {
    let msg: WebviewMessage;
    try {
      msg = parseMessage('webview', WebviewMessage, raw);
    } catch (err) {
      this.log(`rejected webview message: ${(err as Error).message}`);
      return;
    }
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.postSnapshot();
        break;
      case 'ask': {
        if (msg.preset) {
          const { question, prompt } = presetPrompt(msg.preset, msg.text);
          void this.conversation.ask(question, [], { prompt });
        } else if (msg.text.trim()) {
          void this.conversation.ask(msg.text);
        }
        break;
      }
      case 'copyRegion':
        void this.copyRegion(msg.turnId, msg.index);
        break;
      case 'exportAnnotated':
        void vscode.commands.executeCommand('internvlLens.exportAnnotated', msg.turnId);
        break;
      case 'stop':
        this.conversation.stop();
        break;
      case 'newChat':
        this.conversation.clear();
        break;
      case 'action':
        void this.runAction(msg.id);
        break;
    }
  }

  /** Actions are named by id only: the webview cannot ask the host to run arbitrary commands. */
  private async runAction(id: string): Promise<void> {
    const [kind, arg] = id.split(':', 2);
    if (kind === 'openSetting' && arg && /^internvlLens(\.[A-Za-z]+)+$/.test(arg)) {
      await vscode.commands.executeCommand('workbench.action.openSettings', arg);
    } else if (kind === 'setApiKey') {
      await vscode.commands.executeCommand('internvlLens.setApiKey');
    } else if (kind === 'showLog') {
      await vscode.commands.executeCommand('internvlLens.showLog');
    } else {
      this.log(`ignored unknown webview action ${id}`);
    }
  }

  /** Writes a region's original-pixel coordinates to the clipboard. */
  private async copyRegion(turnId: string, index: number): Promise<void> {
    const turn = this.conversation.turns.find((t) => t.id === turnId);
    const region = turn?.regions[index];
    if (!turn?.target || !region) {
      this.log(`copyRegion: no region ${index} in turn ${turnId}`);
      return;
    }
    const text = pixelCoordinates(turn.target.model.transform, region).join(', ');
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`InternVL Lens: copied ${region.label ? `"${region.label}" ` : ''}${text}`, 3000);
  }

  private imageView(a: Attachment): ImageView {
    const src = this.view?.webview.asWebviewUri(vscode.Uri.file(a.path)).toString() ?? '';
    return { id: a.id, src, name: a.name, width: a.width, height: a.height, tiles: a.tiles, tokens: a.model.tokens };
  }

  private turnView(t: TurnRecord): TurnView {
    let error: TurnView['error'] = null;
    if (t.error) {
      const action =
        t.error.code === 'remote-unauthorized'
          ? { id: 'setApiKey', label: 'Set API Key' }
          : t.error.setting
            ? { id: `openSetting:${t.error.setting}`, label: 'Open Settings' }
            : { id: 'showLog', label: 'Show Log' };
      error = { message: t.error.message, action };
    }
    return {
      id: t.id,
      question: t.question,
      images: t.images.map((a) => this.imageView(a)),
      target: t.target ? this.imageView(t.target) : null,
      answer: t.answer,
      status: t.status,
      regions: t.target ? t.regions.map((r) => regionView(t.target!, r)) : [],
      error,
      stats: t.stats,
    };
  }

  private postSnapshot(): void {
    this.post({ type: 'snapshot', turns: this.conversation.turns.map((t) => this.turnView(t)) });
  }

  private post(msg: HostMessage): void {
    // Until the webview says it is ready, messages would be lost; it gets a snapshot then.
    if (this.view && this.ready) void this.view.webview.postMessage(msg);
  }

  private html(webview: vscode.Webview): string {
    return webviewHtml(webview, this.extensionUri, {
      viewType: CHAT_VIEW_TYPE,
      title: 'InternVL Lens',
      script: 'webview.js',
      style: 'webview.css',
      body: '<main id="app" aria-live="polite"></main>',
      imgSources: ['data:'],
    });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function regionView(target: Attachment, r: Region): RegionView {
  const pixels = pixelCoordinates(target.model.transform, r);
  return r.kind === 'box' ? { ...r, pixels: pixels as [number, number, number, number] } : { ...r, pixels: pixels as [number, number] };
}
