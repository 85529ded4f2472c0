// SVG diagrams rasterised to PNG without fetching anything and without running anything: the
// markup is stripped of scripts, event handlers, entity declarations and every reference that is
// not inside the document (or an inline data: image), then librsvg (through sharp) draws it.
// librsvg runs no scripts and, given bytes rather than a file, loads no external resources: the
// stripping is the second lock on the door, not the only one.
import { ImageError, loadSharp } from '../images';
import { type Capture, MAX_CAPTURE_PIXELS } from './capture';

/** SVG sources over this size are refused before parsing. */
export const MAX_SVG_BYTES = 20 * 1024 * 1024;
/** The long side a diagram is drawn at (vector art is drawn crisp, not at its nominal CSS size)... */
const TARGET_LONG_SIDE = 2048;
/** ...but never past this, however large its declared size. */
const MAX_LONG_SIDE = 4096;

/** Whether a reference stays inside the document: a fragment, or an inline raster image. */
const isInternal = (ref: string) => /^\s*(#|data:image\/(png|jpeg|gif|webp);base64,)/i.test(ref);

/** The SVG markup with everything that could run or reach outside removed. */
export function sanitiseSvg(svg: string): string {
  return (
    svg
      // DOCTYPE (entity declarations: external entities, billion laughs) and processing instructions other than <?xml?>.
      .replace(/<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/gi, '')
      .replace(/<\?(?!xml\s)[\s\S]*?\?>/gi, '')
      .replace(/<!ENTITY[\s\S]*?>/gi, '')
      // ...and references to the entities they declared (XML's own five and character references stay).
      .replace(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)[\w.-]+;/gi, '')
      // Scripts and embedded HTML.
      .replace(/<script\b[\s\S]*?<\/script\s*>/gi, '')
      .replace(/<script\b[^>]*\/>/gi, '')
      .replace(/<foreignObject\b[\s\S]*?<\/foreignObject\s*>/gi, '')
      // Event handler attributes (onload=…, onclick=…).
      .replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '')
      // href / xlink:href / src that leave the document.
      .replace(/\s((?:xlink:)?href|src)\s*=\s*("([^"]*)"|'([^']*)')/gi, (all, _attr: string, _q: string, dq?: string, sq?: string) =>
        isInternal(dq ?? sq ?? '') ? all : '',
      )
      // CSS: @import and url(…) outside the document.
      .replace(/@import[^;]*;?/gi, '')
      .replace(/url\(\s*(['"]?)([^)'"]*)\1\s*\)/gi, (all, _q: string, ref: string) => (isInternal(ref) ? all : 'none'))
  );
}

export async function rasteriseSvg(bytes: Uint8Array, name: string): Promise<Capture> {
  if (bytes.byteLength === 0) throw new ImageError(`${name} is empty (0 bytes), so there is no diagram.`);
  if (bytes.byteLength > MAX_SVG_BYTES) throw new ImageError(`${name} is over ${MAX_SVG_BYTES / 1024 / 1024} MB; SVG files that large are refused.`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (!/<svg[\s>]/i.test(text)) throw new ImageError(`${name} is not an SVG image (no <svg> element).`);
  const svg = Buffer.from(sanitiseSvg(text), 'utf8');
  const sharp = await loadSharp();
  let meta;
  try {
    meta = await sharp(svg, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageError(`${name} is not a valid SVG image (${(err as Error).message}).`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new ImageError(`${name} has no size (width and height or a viewBox).`);
  // Nominal size at 72 dpi; draw so the long side is TARGET_LONG_SIDE, capped by MAX_LONG_SIDE and the pixel limit.
  let scale = Math.min(TARGET_LONG_SIDE, MAX_LONG_SIDE) / Math.max(width, height);
  scale = Math.min(scale, Math.sqrt(MAX_CAPTURE_PIXELS / (width * height)));
  const target = { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  // librsvg takes at least 1 dpi: a diagram declared enormous is drawn at 1 dpi, then scaled down.
  const density = Math.max(1, 72 * scale);
  let out;
  try {
    let image = sharp(svg, { density, limitInputPixels: MAX_CAPTURE_PIXELS }).flatten({ background: '#ffffff' });
    if (72 * scale < 1) image = image.resize(target);
    out = await image.png().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageError(`${name} could not be drawn (${(err as Error).message}).`);
  }
  return { bytes: out.data, name: name.replace(/\.svgz?$/i, '') + '.png', width: out.info.width, height: out.info.height, scaleFactor: 1 };
}
