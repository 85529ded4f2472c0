// Messages between the extension host and the Mermaid panel, which draws diagram source to a PNG.
// The panel is untrusted: the host validates what it receives, then checks the PNG itself.
import * as v from 'valibot';
import { Base64 } from './base64';

/** Mermaid source longer than this is refused (a diagram, not a book). */
export const MAX_MERMAID_SOURCE = 100_000;
/** Base64 of the PNG: ~64 MB of image at most. */
const MAX_PNG_BASE64 = 90_000_000;

export const DiagramHostMessage = v.variant('type', [
  v.object({ type: v.literal('render'), source: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_MERMAID_SOURCE)) }),
]);
export type DiagramHostMessage = v.InferOutput<typeof DiagramHostMessage>;

export const DiagramWebviewMessage = v.variant('type', [
  v.object({ type: v.literal('ready') }),
  v.object({
    type: v.literal('rendered'),
    png: Base64(MAX_PNG_BASE64),
    width: v.pipe(v.number(), v.integer(), v.minValue(1)),
    height: v.pipe(v.number(), v.integer(), v.minValue(1)),
  }),
  v.object({ type: v.literal('error'), message: v.pipe(v.string(), v.maxLength(2000)) }),
]);
export type DiagramWebviewMessage = v.InferOutput<typeof DiagramWebviewMessage>;
