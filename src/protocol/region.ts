// Messages between the extension host and the Capture Region panel. The panel is untrusted: the
// host validates what it receives (and clamps the rectangle to the image again).
import * as v from 'valibot';
import { PixelLength as Size, PixelRect } from './rect';

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
  /** The rectangle in the screenshot's device pixels. */
  v.object({ type: v.literal('confirm'), rect: PixelRect }),
  v.object({ type: v.literal('cancel') }),
]);
export type RegionWebviewMessage = v.InferOutput<typeof RegionWebviewMessage>;
