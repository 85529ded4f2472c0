// Messages between the host and the code it runs off its main thread on untrusted images: the
// child process that draws one SVG (src/capture/svgRasteriser.ts) and the worker thread that
// decodes one BMP (src/images/bmpDecoder.ts). The host validates what comes back.
import * as v from 'valibot';

/** The host's one request to the SVG child, sent once the child says it is ready. */
export interface SvgJob {
  svg: Uint8Array;
  name: string;
}

/** A clear message for the user (an ImageError's), from either. */
const Refused = v.object({ type: v.literal('refused'), message: v.pipe(v.string(), v.maxLength(2000)) });
const Size = v.pipe(v.number(), v.integer(), v.minValue(1));

export const SvgChildMessage = v.variant('type', [
  v.object({ type: v.literal('ready') }),
  v.object({ type: v.literal('drawn'), png: v.instance(Uint8Array), width: Size, height: Size }),
  Refused,
]);
export type SvgChildMessage = v.InferOutput<typeof SvgChildMessage>;

/** What the BMP worker is started with (its workerData). */
export interface BmpJob {
  path: string;
  name: string;
}

export const BmpWorkerMessage = v.variant('type', [
  /** RGBA, row by row, top row first; the buffer is transferred, not copied. */
  v.object({ type: v.literal('decoded'), width: Size, height: Size, rgba: v.instance(ArrayBuffer) }),
  Refused,
]);
export type BmpWorkerMessage = v.InferOutput<typeof BmpWorkerMessage>;
