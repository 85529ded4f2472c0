// Messages between the extension host and the Capture Region panel. The panel is untrusted: the
// host validates what it receives (and clamps the rectangle to the image again).
import * as v from 'valibot';

const Pixel = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000));
const Size = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000));

/** A rectangle in the screenshot's device pixels. */
export const RegionRect = v.object({ x: Pixel, y: Pixel, width: Size, height: Size });
export type RegionRect = v.InferOutput<typeof RegionRect>;

export const RegionHostMessage = v.variant('type', [
  v.object({
    type: v.literal('show'),
    /** A webview resource URI of the screenshot (asWebviewUri). */
    src: v.string(),
    width: Size,
    height: Size,
    /** Device pixels per CSS pixel of the captured screen: the image is shown at its real size. */
    scaleFactor: v.pipe(v.number(), v.finite(), v.minValue(0.25), v.maxValue(16)),
  }),
]);
export type RegionHostMessage = v.InferOutput<typeof RegionHostMessage>;

export const RegionWebviewMessage = v.variant('type', [
  v.object({ type: v.literal('ready') }),
  v.object({ type: v.literal('confirm'), rect: RegionRect }),
  v.object({ type: v.literal('cancel') }),
]);
export type RegionWebviewMessage = v.InferOutput<typeof RegionWebviewMessage>;
