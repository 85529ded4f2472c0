// The child process that draws one SVG (started by rasteriseSvg in ./svg.ts, ended by it when
// the deadline passes). librsvg is native code: in the host, even in a worker thread, nothing could
// stop it once started (Worker.terminate waits for native work to finish), so it runs here, where
// a kill does. The markup is rebuilt from its allow-listed parts first (./svgSanitise.ts).
import { loadSharp } from '../images/prepare';
import { ImageError } from '../images/probe';
import type { SvgChildMessage, SvgJob } from '../protocol/imageJobs';
import { MAX_CAPTURE_PIXELS } from './capture';
import { sanitiseSvg } from './svgSanitise';
import { errorMessage } from '../util/errorMessage';

/** The long side a diagram is drawn at (vector art is drawn crisp, not at its nominal CSS size)... */
const TARGET_LONG_SIDE = 2048;
/** ...but never past this, however large its declared size. */
const MAX_LONG_SIDE = 4096;

type SharpFactory = Awaited<ReturnType<typeof loadSharp>>;

async function draw(sharp: SharpFactory, { svg: bytes, name }: SvgJob): Promise<SvgChildMessage> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const svg = Buffer.from(sanitiseSvg(text, name), 'utf8');
  let meta;
  try {
    meta = await sharp(svg, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageError(`${name} is not a valid SVG image (${errorMessage(err).trim()}).`);
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
  try {
    let image = sharp(svg, { density, limitInputPixels: MAX_CAPTURE_PIXELS }).flatten({ background: '#ffffff' });
    if (72 * scale < 1) image = image.resize(target);
    const out = await image.png().toBuffer({ resolveWithObject: true });
    return { type: 'drawn', png: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), width: out.info.width, height: out.info.height };
  } catch (err) {
    throw new ImageError(`${name} could not be drawn (${errorMessage(err).trim()}).`);
  }
}

async function main(): Promise<void> {
  const send = (msg: SvgChildMessage) => new Promise<void>((resolve) => process.send!(msg, undefined, undefined, () => resolve()));
  const sharp = await loadSharp();
  // One image at a time, no cache: this process lives for one job.
  sharp.cache(false);
  process.once('message', (job: SvgJob) => {
    draw(sharp, job)
      .catch((err: unknown) => ({ type: 'refused', message: (err instanceof ImageError ? err.message : `${job.name} could not be drawn (${String(err)}).`).slice(0, 2000) }) as const)
      .then(send)
      .then(() => process.exit(0), () => process.exit(1));
  });
  await send({ type: 'ready' });
}

if (!process.send) {
  console.error('svgRasteriser must be started with an IPC channel (child_process.fork).');
  process.exit(2);
}
void main();
