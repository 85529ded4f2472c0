// The chat app's one state object. Everything the chat shows is here, and it changes only through
// the explicit updates below: `apply` for each validated host message, and the few choices the
// user makes that outlive a re-render (a grounding preset, an image viewer's zoom). Components
// (turns.ts, composer.ts, history.ts) subscribe and render what changed; none keeps a copy.
import type { PromptPreset } from '../../src/grounding/prompts';
import type { ConversationSummary, HostMessage, PendingImageView, ProgressView, TurnView } from '../../src/protocol/webview';

/** What the user set on an image's viewer, kept across re-renders of its turn. */
export interface ViewerState {
  zoom: number;
  overlayHidden: boolean;
  scroll: [number, number];
}

/** What changed, so that each component redoes only its part. */
export type ChatChange =
  | { kind: 'snapshot' }
  /** A turn arrived or changed; `previous` is what was shown before (undefined: a new turn). */
  | { kind: 'turn'; turn: TurnView; previous: TurnView | undefined }
  | { kind: 'token'; turnId: string }
  | { kind: 'progress'; turnId: string }
  | { kind: 'pending' }
  | { kind: 'history' }
  | { kind: 'preset' }
  /** Text for the question box, from the host (Ask about this region). */
  | { kind: 'compose'; text: string };

export const isRunning = (t: TurnView) => t.status === 'streaming' || t.status === 'queued';

export class ChatState {
  readonly turns = new Map<string, TurnView>();
  /** Turn ids, oldest first. */
  readonly order: string[] = [];
  /** Streamed token messages per turn, so tests (and curious users) can tell streaming from a final paint. */
  readonly chunks = new Map<string, number>();
  readonly progress = new Map<string, ProgressView>();
  /** Zoom and overlay choices per image of a turn (`turnId/imageId`), kept across re-renders. */
  private readonly viewers = new Map<string, ViewerState>();
  pending: readonly PendingImageView[] = [];
  pendingError: string | null = null;
  conversations: readonly ConversationSummary[] = [];
  currentConversation: string | null = null;
  /** The grounding preset the next question is sent with. */
  preset: PromptPreset | null = null;
  private readonly listeners: ((change: ChatChange) => void)[] = [];

  subscribe(listener: (change: ChatChange) => void): void {
    this.listeners.push(listener);
  }

  private emit(change: ChatChange): void {
    for (const l of this.listeners) l(change);
  }

  /** The one update per host message. */
  apply(msg: HostMessage): void {
    switch (msg.type) {
      case 'snapshot': {
        // Zoom and overlay choices live as long as their turn.
        const kept = new Set(msg.turns.map((t) => t.id));
        for (const key of this.viewers.keys()) if (!kept.has(key.split('/')[0]!)) this.viewers.delete(key);
        this.turns.clear();
        this.order.length = 0;
        for (const t of msg.turns) {
          this.turns.set(t.id, t);
          this.order.push(t.id);
        }
        return this.emit({ kind: 'snapshot' });
      }
      case 'turn': {
        const t = msg.turn;
        if (!isRunning(t)) this.progress.delete(t.id);
        const previous = this.turns.get(t.id);
        if (!previous) this.order.push(t.id);
        this.turns.set(t.id, t);
        return this.emit({ kind: 'turn', turn: t, previous });
      }
      case 'token': {
        const t = this.turns.get(msg.turnId);
        if (!t) return;
        this.turns.set(t.id, { ...t, answer: t.answer + msg.text });
        this.chunks.set(t.id, (this.chunks.get(t.id) ?? 0) + 1);
        // The first token: generating, before the host has a rate.
        if (this.progress.get(t.id)?.phase !== 'generating') this.progress.set(t.id, { phase: 'generating', tokensPerSecond: null, tokens: 0, approximate: false });
        return this.emit({ kind: 'token', turnId: t.id });
      }
      case 'progress':
        this.progress.set(msg.turnId, msg.progress);
        return this.emit({ kind: 'progress', turnId: msg.turnId });
      case 'pending':
        this.pending = msg.images;
        this.pendingError = msg.error;
        return this.emit({ kind: 'pending' });
      case 'history':
        this.conversations = msg.conversations;
        this.currentConversation = msg.current;
        return this.emit({ kind: 'history' });
      case 'compose':
        return this.emit({ kind: 'compose', text: msg.text });
    }
  }

  /** A message the composer shows about attaching (not an image, too large…); null clears it. */
  setAttachError(message: string | null): void {
    this.pendingError = message;
    this.emit({ kind: 'pending' });
  }

  choosePreset(preset: PromptPreset | null): void {
    this.preset = preset;
    this.emit({ kind: 'preset' });
  }

  viewer(turnId: string, imageId: string): ViewerState {
    const key = `${turnId}/${imageId}`;
    let s = this.viewers.get(key);
    if (!s) this.viewers.set(key, (s = { zoom: 1, overlayHidden: false, scroll: [0, 0] }));
    return s;
  }

  isLast(turnId: string): boolean {
    return this.order.at(-1) === turnId;
  }

  busy(): boolean {
    return [...this.turns.values()].some(isRunning);
  }
}
