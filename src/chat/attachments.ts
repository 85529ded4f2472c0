// Attachments are copied into the extension's storage: the webview may load only from there,
// and the chat keeps working if the original moves. Each is also prepared once for the model
// (upright, resized to InternVL's tile grid) with the transform back to its original pixels.
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileExists } from '../files';
import { MAX_TILES, prepareForModel, probeImage, tileCount, uprightSize, type ImageFormat, type PreparedImage, type RawPixels } from '../images';

export interface Attachment {
  id: string;
  /** Absolute path of the stored copy (the original bytes). */
  path: string;
  /** The original file name, for display. */
  name: string;
  format: ImageFormat;
  /** Upright size in original pixels (EXIF orientation applied), as viewers show it. */
  width: number;
  height: number;
  /** What the model is shown: a copy sized to the tile grid, and how to map its answers back. */
  model: PreparedImage;
  /** Tiles the model encodes, thumbnail included (256 tokens each). */
  tiles: number;
}

export interface AttachOptions {
  /** Device pixels per logical pixel of a screen capture (its scale factor); 1 for files. */
  devicePixelRatio?: number;
  /** Overrides the maxTiles setting for this image. */
  maxTiles?: number;
  /** Only this part (upright original pixels) is shown to the model; the original is kept whole. */
  crop?: { x: number; y: number; width: number; height: number } | null;
  /** The image's decoded pixels, when the caller has them (a screen grab): the model copy is made from them. */
  pixels?: RawPixels;
  /**
   * Return before the model-sized copy is written (it is written in the background): for images
   * going to the Conversation, which awaits the copy before the engine sees it.
   */
  modelCopyInBackground?: boolean;
}

const EXTENSION: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', gif: 'gif', bmp: 'bmp', webp: 'webp' };

export class AttachmentStore {
  /** Model-sized copies live in a folder of their own, named after the original's hash and grid. */
  readonly modelDir: string;

  constructor(
    readonly dir: string,
    private readonly settings: { maxTiles: () => number } = { maxTiles: () => MAX_TILES },
  ) {
    this.modelDir = join(dir, 'model');
  }

  /** Validates `bytes` as an image, stores it (content-addressed, so re-adding is free) and prepares it for the model. */
  async add(bytes: Uint8Array, originalName: string, options: AttachOptions = {}): Promise<Attachment> {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const info = probeImage(buf.subarray(0, 256 * 1024), basename(originalName));
    const hash = createHash('sha256').update(buf).digest('hex').slice(0, 32);
    const crop = options.crop ?? null;
    // A cropped copy is another image to the model (and to the history), though the file is shared.
    const id = crop ? `${hash}-crop${crop.x}_${crop.y}_${crop.width}_${crop.height}` : hash;
    const path = join(this.dir, `${hash}.${EXTENSION[info.format]}`);
    if (!(await fileExists(path))) {
      await mkdir(this.dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, buf);
      await rename(tmp, path);
    }
    const model = await prepareForModel(path, {
      outDir: this.modelDir,
      key: hash,
      crop: crop && { left: crop.x, top: crop.y, width: crop.width, height: crop.height },
      maxTiles: options.maxTiles ?? this.settings.maxTiles(),
      devicePixelRatio: options.devicePixelRatio ?? 1,
      pixels: options.pixels,
      background: options.modelCopyInBackground,
    });
    const upright = uprightSize(model.transform.stored, model.transform.orientation);
    return { id, path, name: basename(originalName), format: info.format, ...upright, model, tiles: tileCount(model.grid) };
  }
}

