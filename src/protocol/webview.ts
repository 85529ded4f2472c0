// Messages between the extension host and the chat webview. The webview is untrusted: the host
// validates everything it receives; the webview validates what it renders.
import * as v from 'valibot';
import { PROMPT_PRESET_IDS } from '../grounding/prompts';

const Num = v.pipe(v.number(), v.finite());

/** A region (0..1 of the image shown) with the same region in original pixels, computed by the host. */
export const RegionView = v.variant('kind', [
  v.object({ kind: v.literal('box'), label: v.nullable(v.string()), box: v.tuple([Num, Num, Num, Num]), pixels: v.tuple([Num, Num, Num, Num]) }),
  v.object({ kind: v.literal('point'), label: v.nullable(v.string()), point: v.tuple([Num, Num]), pixels: v.tuple([Num, Num]) }),
]);
export type RegionView = v.InferOutput<typeof RegionView>;

export const ImageView = v.object({
  id: v.string(),
  /** A webview resource URI (asWebviewUri). */
  src: v.string(),
  name: v.string(),
  width: v.pipe(v.number(), v.integer(), v.minValue(1)),
  height: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** Tiles the model encodes for this image (thumbnail included) and the context tokens they cost. */
  tiles: v.pipe(v.number(), v.integer(), v.minValue(1)),
  tokens: v.pipe(v.number(), v.integer(), v.minValue(1)),
});
export type ImageView = v.InferOutput<typeof ImageView>;

export const TurnStatus = v.picklist(['queued', 'streaming', 'done', 'stopped', 'error']);
export type TurnStatus = v.InferOutput<typeof TurnStatus>;

export const ErrorView = v.object({
  message: v.string(),
  /** An action the host offers to fix the error; the webview sends back only its id. */
  action: v.optional(v.object({ id: v.string(), label: v.string() })),
});
export type ErrorView = v.InferOutput<typeof ErrorView>;

export const TurnView = v.object({
  id: v.string(),
  question: v.string(),
  images: v.array(ImageView),
  /** The image the answer's regions are drawn over: the latest image of the conversation. */
  target: v.nullable(ImageView),
  answer: v.string(),
  status: TurnStatus,
  regions: v.array(RegionView),
  error: v.nullable(ErrorView),
  stats: v.nullable(v.string()),
});
export type TurnView = v.InferOutput<typeof TurnView>;

export const HostMessage = v.variant('type', [
  v.object({ type: v.literal('snapshot'), turns: v.array(TurnView) }),
  v.object({ type: v.literal('turn'), turn: TurnView }),
  v.object({ type: v.literal('token'), turnId: v.string(), text: v.string() }),
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
  v.object({ type: v.literal('stop') }),
  v.object({ type: v.literal('newChat') }),
  v.object({ type: v.literal('action'), id: v.pipe(v.string(), v.maxLength(200)) }),
]);
export type WebviewMessage = v.InferOutput<typeof WebviewMessage>;
