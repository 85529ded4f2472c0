// Messages between the extension host and the chat webview. The webview is untrusted: the host
// validates everything it receives; the webview validates what it renders.
import * as v from 'valibot';
import { REGION_EXPORT_FORMATS } from '../grounding/exports';
import { PROMPT_PRESET_IDS } from '../grounding/prompts';
import { Base64 } from './base64';
import { PixelRect } from './rect';
import { Remedy } from './remedy';
import { MAX_FRAME_COUNT } from '../video/sampling';

const Num = v.pipe(v.number(), v.finite());
const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(100));
/** The most bytes one attached image may have, however it arrives (pasted, dropped, picked). */
export const MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024;
/** MAX_ATTACHMENT_BYTES as base64, for images the webview sends. */
export const MAX_ATTACHMENT_BASE64 = Math.ceil(MAX_ATTACHMENT_BYTES / 3) * 4;

/** A clip turn's region is on one frame (1-based, `Frame3`); absent for an image. */
const FrameNumber = v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_FRAME_COUNT)));
const Box = v.tuple([Num, Num, Num, Num]);
const Point = v.tuple([Num, Num]);
const Quad = v.tuple([Num, Num, Num, Num, Num, Num, Num, Num]);

/** Where the first pass put a region that a zoom-in refine moved (0..1 of the image shown): drawn faint. */
export const CoarseShape = v.variant('kind', [
  v.object({ kind: v.literal('box'), box: Box }),
  v.object({ kind: v.literal('point'), point: Point }),
  v.object({ kind: v.literal('quad'), quad: Quad }),
]);
export type CoarseShape = v.InferOutput<typeof CoarseShape>;

/**
 * A region (0..1 of the image shown) with the same region in original pixels, computed by the
 * host; after a zoom-in refine, the refined region, with the first pass's in `coarse`.
 */
export const RegionView = v.variant('kind', [
  v.object({ kind: v.literal('box'), label: v.nullable(v.string()), box: Box, pixels: Box, frame: FrameNumber, coarse: v.optional(CoarseShape) }),
  v.object({ kind: v.literal('point'), label: v.nullable(v.string()), point: Point, pixels: Point, frame: FrameNumber, coarse: v.optional(CoarseShape) }),
  v.object({ kind: v.literal('quad'), label: v.nullable(v.string()), quad: Quad, pixels: Quad, frame: FrameNumber, coarse: v.optional(CoarseShape) }),
]);
export type RegionView = v.InferOutput<typeof RegionView>;

export const ImageView = v.object({
  id: v.string(),
  /** A webview resource URI (asWebviewUri). */
  src: v.string(),
  /**
   * When `src` is a smaller display copy (a screen grab's preview, shown at `width` × `height`
   * CSS pixels all the same): the full-size original, loaded once the user zooms in.
   */
  original: v.optional(v.string()),
  name: v.string(),
  width: v.pipe(v.number(), v.integer(), v.minValue(1)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** Tiles the model encodes for this image (thumbnail included) and the context tokens they cost. */
  tiles: v.pipe(v.number(), v.integer(), v.minValue(1)),
  tokens: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** The part of the image the model saw, when it was cropped: regions are relative to it. */
  crop: v.optional(v.nullable(PixelRect)),
  /** The reference grid the model saw the image on (What the model saw). */
  grid: v.optional(v.object({ cols: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)), rows: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)), thumbnail: v.boolean() })),
  /** A webview URI of the grid-sized copy the model was given (View as the model sees it). */
  modelSrc: v.optional(v.string()),
});
export type ImageView = v.InferOutput<typeof ImageView>;

export const TurnStatus = v.picklist(['queued', 'streaming', 'done', 'stopped', 'error']);
export type TurnStatus = v.InferOutput<typeof TurnStatus>;

export const ErrorView = v.object({
  message: v.string(),
  /** What fixes it (src/protocol/remedy.ts): a button each; the webview sends the chosen one back as it is. */
  remedies: v.array(Remedy),
});
export type ErrorView = v.InferOutput<typeof ErrorView>;

/** A clip a turn asks about: its images are these frames, in order (the chat shows a strip); or a follow-up's. */
export const ClipView = v.object({
  name: v.string(),
  duration: v.pipe(Num, v.minValue(0)),
  frames: v.pipe(
    v.array(v.object({ number: v.pipe(v.number(), v.integer(), v.minValue(1)), index: v.pipe(v.number(), v.integer(), v.minValue(0)), seconds: v.pipe(Num, v.minValue(0)) })),
    v.maxLength(MAX_FRAME_COUNT),
  ),
  /** A follow-up about the clip (the turn has no images): the clip's frames, which its regions are drawn on. */
  images: v.optional(v.pipe(v.array(ImageView), v.maxLength(MAX_FRAME_COUNT))),
});
export type ClipView = v.InferOutput<typeof ClipView>;

export const TurnView = v.object({
  id: v.string(),
  question: v.string(),
  images: v.array(ImageView),
  clip: v.optional(ClipView),
  /** The image the answer's regions are drawn over: the latest image of the conversation. */
  target: v.nullable(ImageView),
  answer: v.string(),
  status: TurnStatus,
  regions: v.array(RegionView),
  error: v.nullable(ErrorView),
  stats: v.nullable(v.string()),
  /** Regions the question itself names (InternVL's referring `<box>`, a region the user drew), 0..1 of the target's kept part. */
  referred: v.optional(v.array(Box)),
});
export type TurnView = v.InferOutput<typeof TurnView>;

/** An image waiting in the composer, to be sent with the next question. */
export const PendingImageView = ImageView;
export type PendingImageView = v.InferOutput<typeof PendingImageView>;

/** A conversation in the history list. */
export const ConversationSummary = v.object({
  id: v.string(),
  title: v.string(),
  /** Milliseconds since the epoch. */
  updated: v.number(),
  turns: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type ConversationSummary = v.InferOutput<typeof ConversationSummary>;

/** What the engine is doing for the running turn, for the progress line. */
export const ProgressView = v.variant('phase', [
  /** Loading the model; `percent` when the engine reports it. */
  v.object({ phase: v.literal('loading'), percent: v.nullable(v.pipe(v.number(), v.minValue(0), v.maxValue(100))) }),
  /** Reading the images: `tiles` to encode (the engine does not report per-tile progress). */
  v.object({ phase: v.literal('encoding'), tiles: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  /**
   * Generating: the rate so far, measured by the host as tokens stream (null until it has one);
   * `approximate` when the engine does not count tokens (a remote server's pieces count as one).
   */
  v.object({
    phase: v.literal('generating'),
    tokensPerSecond: v.nullable(v.pipe(Num, v.minValue(0))),
    tokens: v.pipe(v.number(), v.integer(), v.minValue(0)),
    approximate: v.boolean(),
  }),
]);
export type ProgressView = v.InferOutput<typeof ProgressView>;

export const HostMessage = v.variant('type', [
  v.object({ type: v.literal('snapshot'), turns: v.array(TurnView) }),
  v.object({ type: v.literal('turn'), turn: TurnView }),
  v.object({ type: v.literal('token'), turnId: v.string(), text: v.string() }),
  v.object({ type: v.literal('progress'), turnId: v.string(), progress: ProgressView }),
  /** The composer's images, after any change (added, cropped, removed, sent). */
  v.object({ type: v.literal('pending'), images: v.array(PendingImageView), error: v.nullable(v.string()) }),
  v.object({ type: v.literal('history'), conversations: v.array(ConversationSummary), current: v.nullable(v.string()) }),
  /** Text for the question box (Ask about this region: InternVL's region-caption prompt with the box). */
  v.object({ type: v.literal('compose'), text: v.pipe(v.string(), v.maxLength(10_000)) }),
]);
export type HostMessage = v.InferOutput<typeof HostMessage>;

export const WebviewMessage = v.variant('type', [
  v.object({ type: v.literal('ready') }),
  v.pipe(
    v.object({
      type: v.literal('ask'),
      text: v.pipe(v.string(), v.maxLength(100_000)),
      /** A grounding preset wraps `text` (the target) in its prompt; without one `text` is the question. */
      preset: v.optional(v.picklist(PROMPT_PRESET_IDS)),
    }),
    v.check((m) => m.preset !== undefined || m.text.length > 0, 'a question without a preset must not be empty'),
  ),
  /** Copy a region's original-pixel coordinates to the clipboard (the host writes it). */
  v.object({ type: v.literal('copyRegion'), turnId: v.pipe(v.string(), v.maxLength(100)), index: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  /** Save the turn's image with its regions drawn, at original resolution. */
  v.object({ type: v.literal('exportAnnotated'), turnId: v.pipe(v.string(), v.maxLength(100)) }),
  /** Export the turn's regions: JSON, CSV, Markdown to a file the host asks for; click snippets to the clipboard. */
  v.object({ type: v.literal('exportRegions'), turnId: Id, format: v.picklist(REGION_EXPORT_FORMATS) }),
  /** Ask about a region the user drew on an image in the chat: a rectangle in its upright original pixels. */
  v.object({ type: v.literal('askRegion'), imageId: Id, rect: PixelRect }),
  v.object({ type: v.literal('stop') }),
  v.object({ type: v.literal('newChat') }),
  /** A turn error's button: the remedy as the host offered it (validated again here). */
  v.object({ type: v.literal('remedy'), remedy: Remedy }),
  /** Ask the last question again (the answer is replaced). */
  v.object({ type: v.literal('regenerate'), turnId: Id }),
  /** Replace the last question with `text` and ask it again. */
  v.object({ type: v.literal('editResend'), turnId: Id, text: v.pipe(v.string(), v.minLength(1), v.maxLength(100_000)) }),
  /** Copy text (an answer, a code block) to the clipboard. */
  v.object({ type: v.literal('copyText'), text: v.pipe(v.string(), v.maxLength(1_000_000)) }),
  /** Open the host's file picker for images. */
  v.object({ type: v.literal('pickImages') }),
  /** An image pasted or dropped from the OS: its bytes, base64. */
  v.object({
    type: v.literal('attachBytes'),
    name: v.pipe(v.string(), v.maxLength(255)),
    data: Base64(MAX_ATTACHMENT_BASE64),
  }),
  /** Files dropped from the Explorer (or the OS as a URI list). */
  v.object({ type: v.literal('attachUris'), uris: v.pipe(v.array(v.pipe(v.string(), v.maxLength(4096))), v.minLength(1), v.maxLength(20)) }),
  v.object({ type: v.literal('removeAttachment'), id: Id }),
  /** Crop a waiting image to a rectangle in its original pixels; a null rect undoes the crop. */
  v.object({ type: v.literal('cropAttachment'), id: Id, rect: v.nullable(PixelRect) }),
  /** Send a waiting image on fewer tiles (an enlarged small image costs more than it shows). */
  v.object({ type: v.literal('setAttachmentTiles'), id: Id, maxTiles: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)) }),
  v.object({ type: v.literal('openConversation'), id: Id }),
  v.object({ type: v.literal('renameConversation'), id: Id, title: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200)) }),
  v.object({ type: v.literal('deleteConversation'), id: Id }),
  v.object({ type: v.literal('clearHistory') }),
]);
export type WebviewMessage = v.InferOutput<typeof WebviewMessage>;
