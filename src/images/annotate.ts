// The image with its regions drawn on it, at original resolution (upright, as viewers show it):
// what "Export Annotated PNG" saves. Drawn by sharp from an SVG overlay, in the host.
import { labelColour, type Region } from '../grounding';
import { loadSharp, openImage } from './prepare';
import { MAX_DECODE_PIXELS } from './probe';
import { regionToPixels, type ImageTransform } from './transform';

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The SVG drawn over an upright `width`×`height` image (regions already in its pixels). */
export function annotationSvg(width: number, height: number, regions: readonly Region[], transform: ImageTransform): string {
  // Lines and labels scale with the image so they read the same on a thumbnail and on 8K.
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 45));
  const parts: string[] = [];
  for (const region of regions) {
    const colour = labelColour(region.label);
    const px = regionToPixels(transform, region);
    // Drawn on the kept part only: crop offsets do not apply inside it.
    const dx = transform.crop.left;
    const dy = transform.crop.top;
    let anchor: [number, number];
    if (px.kind === 'box') {
      const [x1, y1, x2, y2] = [px.box[0] - dx, px.box[1] - dy, px.box[2] - dx, px.box[3] - dy];
      const inset = stroke / 2;
      parts.push(
        `<rect x="${x1 + inset}" y="${y1 + inset}" width="${Math.max(0, x2 - x1 - stroke)}" height="${Math.max(0, y2 - y1 - stroke)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
      );
      anchor = [x1, y1];
    } else if (px.kind === 'quad') {
      const q = px.quad;
      const corners = [0, 2, 4, 6].map((k) => `${q[k]! - dx},${q[k + 1]! - dy}`).join(' ');
      parts.push(`<polygon points="${corners}" fill="none" stroke="${colour}" stroke-width="${stroke}" stroke-linejoin="round"/>`);
      anchor = [q[0]! - dx, q[1]! - dy];
    } else {
      const [x, y] = [px.point[0] - dx, px.point[1] - dy];
      const arm = stroke * 6;
      parts.push(
        `<path d="M${x - arm} ${y}H${x + arm}M${x} ${y - arm}V${y + arm}" stroke="${colour}" stroke-width="${stroke}"/>`,
        `<circle cx="${x}" cy="${y}" r="${stroke * 2}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
      );
      anchor = [x + stroke * 2, y - stroke * 2];
    }
    if (region.label) {
      const h = Math.round(font * 1.3);
      const y = anchor[1] >= h ? anchor[1] - h : anchor[1];
      const w = Math.round(region.label.length * font * 0.62 + font * 0.6);
      parts.push(
        `<rect x="${anchor[0]}" y="${y}" width="${w}" height="${h}" fill="${colour}"/>`,
        `<text x="${anchor[0] + font * 0.3}" y="${y + font}" font-family="sans-serif" font-size="${font}" fill="#000">${escapeXml(region.label)}</text>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** PNG bytes of the image at `path` with `regions` drawn, at the kept part's original size. */
export async function renderAnnotated(path: string, transform: ImageTransform, regions: readonly Region[]): Promise<Buffer> {
  const sharp = await loadSharp();
  const { crop } = transform;
  const base = await (await openImage(path)).rotate().extract(crop).png().toBuffer();
  const svg = Buffer.from(annotationSvg(crop.width, crop.height, regions, transform));
  return sharp(base, { limitInputPixels: MAX_DECODE_PIXELS }).composite([{ input: svg, left: 0, top: 0 }]).png().toBuffer();
}
