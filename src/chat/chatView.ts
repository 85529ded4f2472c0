// The chat webview: in the sidebar view and, on request, in editor panels — every copy shows the
// same Conversation. Relays what the user does; owns the composer's waiting images and the
// history list. Every message from a webview is validated; unknown or malformed ones are logged.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { parseMessage } from '../protocol/validate';
import { clampRect, type PixelRect } from '../protocol/rect';
import { type HostMessage, type ImageView, MAX_ATTACHMENT_BYTES, type RegionView, type TurnView, WebviewMessage } from '../protocol/webview';
import { presetPrompt, type Region } from '../grounding';
import { IMAGE_EXTENSIONS, pixelCoordinates } from '../images';
import { isWholeImage, pixelRectFromCrop } from '../images/transform';
import type { EngineState } from '../engine/engine';
import type { Attachment, AttachmentStore } from './attachments';
import type { Conversation } from './conversation';
import type { TurnRecord } from './records';
import type { HistoryStore } from './history';
import { webviewHtml } from '../webviewHtml';
import { errorMessage } from '../util/errorMessage';

export const CHAT_VIEW_TYPE = 'internvlLens.chat';
export const CHAT_PANEL_TYPE = 'internvlLens.chatPanel';

/** A waiting image: the stored original and, when cropped, the copy the model will see. */
interface PendingImage {
  original: Attachment;
  shown: Attachment;
  crop: PixelRect | null;
}

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
  private pending: PendingImage[] = [];

  constructor(private readonly s: ChatViewServices) {
    const { conversation } = s;
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
    this.disposables.push(webview.onDidReceiveMessage((raw: unknown) => this.receive(surface, raw)));
    return surface;
  }

  private receive(surface: Surface, raw: unknown): void {
    let msg: WebviewMessage;
    try {
      msg = parseMessage('webview', WebviewMessage, raw);
    } catch (err) {
      this.s.log(`rejected webview message: ${errorMessage(err)}`);
      return;
    }
    const { conversation } = this.s;
    switch (msg.type) {
      case 'ready':
        surface.ready = true;
        this.postTo(surface, { type: 'snapshot', turns: conversation.turns.map((t) => this.turnView(t, surface.webview)) });
        this.postTo(surface, this.pendingMessage(null, surface.webview));
        void this.postHistory(surface);
        break;
      case 'ask': {
        const images = this.pending.map((p) => p.shown);
        if (msg.preset) {
          const { question, prompt } = presetPrompt(msg.preset, msg.text);
          void conversation.ask(question, images, { prompt });
        } else if (msg.text.trim()) {
          void conversation.ask(msg.text, images);
        } else break;
        this.pending = [];
        this.postPending(null);
        break;
      }
      case 'copyRegion':
        void this.copyRegion(msg.turnId, msg.index);
        break;
      case 'copyText':
        void vscode.env.clipboard.writeText(msg.text).then(() => vscode.window.setStatusBarMessage('InternVL Lens: copied', 2000));
        break;
      case 'exportAnnotated':
        void vscode.commands.executeCommand('internvlLens.exportAnnotated', msg.turnId);
        break;
      case 'stop':
        conversation.stop();
        break;
      case 'regenerate':
        void conversation.redo(msg.turnId);
        break;
      case 'editResend':
        void conversation.redo(msg.turnId, msg.text);
        break;
      case 'newChat':
        void conversation.clear();
        break;
      case 'action':
        void this.runAction(msg.id);
        break;
      case 'pickImages':
        void this.pickImages();
        break;
      case 'attachBytes':
        void this.attachBytes(Buffer.from(msg.data, 'base64'), msg.name);
        break;
      case 'attachUris':
        void this.attachUris(msg.uris);
        break;
      case 'removeAttachment':
        this.pending = this.pending.filter((p) => p.shown.id !== msg.id);
        this.postPending(null);
        break;
      case 'cropAttachment':
        void this.crop(msg.id, msg.rect);
        break;
      case 'openConversation':
        void this.openConversation(msg.id);
        break;
      case 'renameConversation':
        void this.withHistory(async () => {
          if (msg.id === conversation.id) await conversation.rename(msg.title);
          else await this.s.history.rename(msg.id, msg.title);
        });
        break;
      case 'deleteConversation':
        void this.withHistory(async () => {
          // Not saved again by the answer it may still be ending.
          if (msg.id === conversation.id) await conversation.clear({ discard: true });
          await this.s.history.delete(msg.id);
        });
        break;
      case 'clearHistory':
        void this.clearHistory();
        break;
    }
  }

  /** Runs a history change, reports a failure inline, and sends the new list. */
  private async withHistory(change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (err) {
      this.s.log(`history: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(`InternVL Lens: ${errorMessage(err)}`);
    }
    await this.postHistory();
  }

  async clearHistory(): Promise<void> {
    const choice = await vscode.window.showWarningMessage('Delete every saved InternVL Lens conversation and its images?', { modal: true }, 'Delete All');
    if (choice !== 'Delete All') return;
    await this.withHistory(async () => {
      await this.s.conversation.clear({ discard: true });
      await this.s.history.clear();
    });
  }

  private async openConversation(id: string): Promise<void> {
    if (id === this.s.conversation.id) return;
    const data = await this.s.history.load(id);
    if (!data) {
      void vscode.window.showErrorMessage('InternVL Lens: that conversation could not be read (see the log).');
      await this.postHistory();
      return;
    }
    await this.s.conversation.restore(data);
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
      this.s.log(`ignored unknown webview action ${id}`);
    }
  }

  private async pickImages(): Promise<void> {
    const uris = await vscode.window.showOpenDialog({
      canSelectMany: true,
      openLabel: 'Attach',
      title: 'Attach images',
      filters: { Images: IMAGE_EXTENSIONS.map((e) => e.replace(/^\./, '')) },
    });
    if (uris?.length) await this.attachUris(uris.map((u) => u.toString()));
  }

  /** Files dropped or picked: stat first, regular files within the pasted-bytes cap only, read bounded. */
  private async attachUris(uris: string[]): Promise<void> {
    for (const raw of uris) {
      let uri: vscode.Uri;
      try {
        uri = vscode.Uri.parse(raw, true);
      } catch {
        this.postPending(`${raw} is not a file.`);
        continue;
      }
      const name = basename(uri.path);
      try {
        const original = uri.scheme === 'file' ? await this.s.attachments.addFile(uri.fsPath) : await this.s.attachments.add(await readWorkspaceFile(uri, name), name);
        this.addPending(original);
      } catch (err) {
        this.postPending(errorMessage(err));
      }
    }
  }

  private addPending(original: Attachment): void {
    if (!this.pending.some((p) => p.shown.id === original.id)) this.pending.push({ original, shown: original, crop: null });
    this.postPending(null);
  }

  private async attachBytes(bytes: Uint8Array, name: string): Promise<void> {
    try {
      this.addPending(await this.s.attachments.add(bytes, name));
    } catch (err) {
      // Bad input: a clear message next to the composer; the images already there stay.
      this.postPending(errorMessage(err));
    }
  }

  private async crop(id: string, rect: PixelRect | null): Promise<void> {
    const p = this.pending.find((x) => x.shown.id === id);
    if (!p) return;
    try {
      if (rect) {
        // The webview is untrusted: clamp the rectangle to the image again.
        const clamped = clampRect(rect, p.original.width, p.original.height);
        if (!clamped) throw new Error('The crop is empty: drag a rectangle over the image.');
        p.shown = await this.s.attachments.add(await readFile(p.original.path), p.original.name, { crop: clamped });
        p.crop = clamped;
      } else {
        p.shown = p.original;
        p.crop = null;
      }
      this.postPending(null);
    } catch (err) {
      this.postPending(errorMessage(err));
    }
  }

  private pendingMessage(error: string | null, webview: vscode.Webview): HostMessage {
    return { type: 'pending', images: this.pending.map((p) => ({ ...this.imageView(p.shown, webview), crop: p.crop })), error };
  }

  private postPending(error: string | null): void {
    for (const s of this.surfaces) this.postTo(s, this.pendingMessage(error, s.webview));
  }

  private async postHistory(only?: Surface): Promise<void> {
    const conversations = await this.s.history.list();
    const { conversation } = this.s;
    // The conversation on screen is listed even before its first save finishes.
    if (conversation.turns.length > 0 && !conversations.some((c) => c.id === conversation.id)) {
      conversations.unshift({ id: conversation.id, title: conversation.title, updated: conversation.updated, turns: conversation.turns.length });
    }
    const msg: HostMessage = { type: 'history', conversations, current: conversation.id };
    for (const s of only ? [only] : this.surfaces) this.postTo(s, msg);
  }

  /** Writes a region's original-pixel coordinates to the clipboard. */
  private async copyRegion(turnId: string, index: number): Promise<void> {
    const turn = this.s.conversation.turns.find((t) => t.id === turnId);
    const region = turn?.regions[index];
    if (!turn?.target || !region) {
      this.s.log(`copyRegion: no region ${index} in turn ${turnId}`);
      return;
    }
    const text = pixelCoordinates(turn.target.model.transform, region).join(', ');
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`InternVL Lens: copied ${region.label ? `"${region.label}" ` : ''}${text}`, 3000);
  }

  private imageView(a: Attachment, webview: vscode.Webview): ImageView {
    const uri = (path: string) => webview.asWebviewUri(vscode.Uri.file(path)).toString();
    // A screen grab's preview loads and decodes much sooner than its PNG; the webview shows it at
    // the original's size (regions are drawn in original pixels) and loads the PNG on zoom.
    const src = a.displayInline ?? uri(a.displayPath ?? a.path);
    return {
      id: a.id,
      src,
      ...(a.displayPath ? { original: uri(a.path) } : {}),
      name: a.name,
      width: a.width,
      height: a.height,
      tiles: a.tiles,
      tokens: a.model.tokens,
      crop: isWholeImage(a.model.transform) ? null : pixelRectFromCrop(a.model.transform.crop),
    };
  }

  private turnView(t: TurnRecord, webview: vscode.Webview): TurnView {
    const image = (a: Attachment) => this.imageView(a, webview);
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
      images: t.images.map(image),
      target: t.target ? image(t.target) : null,
      answer: t.answer,
      status: t.status,
      regions: t.target ? t.regions.map((r) => regionView(t.target!, r)) : [],
      error,
      stats: t.stats,
    };
  }

  private postSnapshot(): void {
    for (const s of this.surfaces) this.postTo(s, { type: 'snapshot', turns: this.s.conversation.turns.map((t) => this.turnView(t, s.webview)) });
  }

  private post(msg: HostMessage): void {
    for (const s of this.surfaces) this.postTo(s, msg);
  }

  /** Image URIs are made per webview, so a turn is made for each. */
  private postTurn(turn: TurnRecord): void {
    for (const s of this.surfaces) this.postTo(s, { type: 'turn', turn: this.turnView(turn, s.webview) });
    // A fresh capture went inline once; the webview keeps that image element (by id) after.
    for (const a of [...turn.images, ...(turn.target ? [turn.target] : [])]) delete a.displayInline;
  }

  private postTo(surface: Surface, msg: HostMessage): void {
    // Until a webview says it is ready, messages would be lost; it gets a snapshot then.
    if (surface.ready) void surface.webview.postMessage(msg);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * A file from another file system (a remote workspace): its stat must say a file within the cap
 * before it is read (that API reads whole files only).
 */
async function readWorkspaceFile(uri: vscode.Uri, name: string): Promise<Uint8Array> {
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.type & vscode.FileType.Directory) throw new Error(`${name} is a folder, not a file.`);
  if (!(stat.type & vscode.FileType.File)) throw new Error(`${name} is not a regular file; only files can be attached.`);
  if (stat.size > MAX_ATTACHMENT_BYTES) throw new Error(`${name} is ${(stat.size / 1024 / 1024).toFixed(1)} MB; files over ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB are refused.`);
  return vscode.workspace.fs.readFile(uri);
}

function regionView(target: Attachment, r: Region): RegionView {
  const pixels = pixelCoordinates(target.model.transform, r);
  return r.kind === 'box' ? { ...r, pixels: pixels as [number, number, number, number] } : { ...r, pixels: pixels as [number, number] };
}
