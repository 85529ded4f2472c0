// What the chat webview is sent, made from the domain: Conversation turns, attachments, the
// composer's images and the history list → the view shapes of src/protocol/webview.ts. Pure: it
// reads the domain objects and never changes them (which image goes inline is the caller's
// choice, passed in). No vscode import: the webview URI of a file is passed in too.
import { referredBoxes, type Quad, type Region } from '../grounding';
import { pixelCoordinates } from '../images';
import { isContinuation } from '../protocol/remedy';
import type { CoarseShape, ConversationSummary, HostMessage, ImageView, RegionView, TurnView } from '../protocol/webview';
import type { Attachment } from './attachments';
import type { PendingImage } from './composer';
import { isWholeImage, pixelRectFromCrop } from '../images/transform';
import { clipFrames, regionImage, type TurnRecord } from './records';
import type { HistoryEntry } from './history';

export interface ViewTarget {
  /** The webview URI of a file on this machine (asWebviewUri: one per webview). */
  uri(path: string): string;
  /** The image's display copy as a data: URI, when this message may carry it inline. */
  inline(a: Attachment): string | undefined;
}

export function imageView(a: Attachment, to: ViewTarget): ImageView {
  // A screen grab's preview loads and decodes much sooner than its PNG; the webview shows it at
  // the original's size (regions are drawn in original pixels) and loads the PNG on zoom.
  const src = to.inline(a) ?? to.uri(a.displayPath ?? a.path);
  return {
    id: a.id,
    src,
    ...(a.displayPath ? { original: to.uri(a.path) } : {}),
    name: a.name,
    width: a.width,
    height: a.height,
    tiles: a.tiles,
    tokens: a.model.tokens,
    crop: isWholeImage(a.model.transform) ? null : pixelRectFromCrop(a.model.transform.crop),
    grid: { ...a.model.grid },
    modelSrc: to.uri(a.model.modelPath),
  };
}

export function regionView(target: Attachment, r: Region, coarse?: Region): RegionView {
  const pixels = pixelCoordinates(target.model.transform, r);
  const first = coarse ? { coarse: coarseShape(coarse) } : {};
  if (r.kind === 'box') return { ...r, pixels: pixels as [number, number, number, number], ...first };
  if (r.kind === 'quad') return { ...r, pixels: pixels as Quad, ...first };
  return { ...r, pixels: pixels as [number, number], ...first };
}

function coarseShape(r: Region): CoarseShape {
  return r.kind === 'box' ? { kind: 'box', box: r.box } : r.kind === 'quad' ? { kind: 'quad', quad: r.quad } : { kind: 'point', point: r.point };
}

/** The regions the question names (a region the user drew), for drawing them in their own style. */
function referred(t: TurnRecord): { referred?: [number, number, number, number][] } {
  const boxes = t.target ? referredBoxes(t.prompt ?? t.question) : [];
  return boxes.length > 0 ? { referred: boxes } : {};
}

/**
 * A turn's regions for the view: over its target, or, in a clip turn, over the frame each was
 * named with; the refined one where a zoom-in pass found it, carrying the first pass's.
 */
function regionViews(t: TurnRecord): RegionView[] {
  if (!t.target) return [];
  return t.regions.map((r, i) => {
    const refined = t.refined?.[i];
    const on = regionImage(t, i)!;
    const view = refined ? regionView(on, refined, r) : regionView(on, r);
    return t.clip ? { ...view, frame: t.clip.regionFrames?.[i] ?? clipFrames(t).length } : view;
  });
}

export function turnView(t: TurnRecord, to: ViewTarget): TurnView {
  const image = (a: Attachment) => imageView(a, to);
  return {
    id: t.id,
    question: t.question,
    images: t.images.map(image),
    ...(t.clip ? { clip: { name: t.clip.name, duration: t.clip.duration, frames: t.clip.frames, ...(t.images.length === 0 && t.clipFrames ? { images: t.clipFrames.map(image) } : {}) } } : {}),
    target: t.target ? image(t.target) : null,
    answer: t.answer,
    status: t.status,
    regions: regionViews(t),
    ...referred(t),
    // The remedies as the turn carries them (stored with it): the same buttons after a reload.
    // Continuations (Retry…) belong to the code that failed, not to the chat: never a button here.
    error: t.error ? { message: t.error.message, remedies: t.error.remedies.filter((r) => !isContinuation(r)) } : null,
    stats: t.stats,
  };
}

export function snapshotMessage(turns: readonly TurnRecord[], to: ViewTarget): HostMessage {
  return { type: 'snapshot', turns: turns.map((t) => turnView(t, to)) };
}

export function pendingMessage(pending: readonly PendingImage[], error: string | null, to: ViewTarget): HostMessage {
  return { type: 'pending', images: pending.map((p) => ({ ...imageView(p.shown, to), crop: p.crop })), error };
}

/** The conversation on screen, as the history list needs it even before its first save finishes. */
export interface ShownConversation {
  id: string;
  title: string;
  updated: number;
  turns: readonly unknown[];
}

export function historyMessage(stored: readonly HistoryEntry[], shown: ShownConversation): HostMessage {
  const conversations: ConversationSummary[] = stored.map((e) => ({ ...e }));
  if (shown.turns.length > 0 && !conversations.some((c) => c.id === shown.id)) {
    conversations.unshift({ id: shown.id, title: shown.title, updated: shown.updated, turns: shown.turns.length });
  }
  return { type: 'history', conversations, current: shown.id };
}
