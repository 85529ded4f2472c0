// Attachments are copied into the extension's storage: the webview may load only from there,
// and the chat keeps working if the original moves. Each is also prepared once for the model
// (upright, resized to InternVL's tile grid) with the transform back to its original pixels.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileExists, readRegularFile, writeFileAtomic } from '../files';
import { storedExtension } from '../images/formats';
import { cropFromPixelRect } from '../images/transform';
import { clipTime } from '../protocol/clip';
import type { PixelRect } from '../protocol/rect';
import type { SampledClip } from '../video/clip';
import type { ClipRecord } from './records';
import { MAX_ATTACHMENT_BYTES } from '../protocol/webview';
import { ImageError, MAX_TILES, prepareForModel, probeImage, tileCount, uprightSize, type ImageFormat, type PreparedImage, type RawPixels, writeInBackground } from '../images';

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
  /**
   * A lossy copy of the same pixels that the chat shows instead of `path` (a screen grab's JPEG,
   * quick to load); the model, export and history use only `path`.
   */
  displayPath?: string;
  /**
   * The display copy as a data: URI, for the first message that shows this image only (chatView
   * drops it then): the chat shows it without fetching a file through the editor, ~100 ms sooner.
   */
  displayInline?: string;
}

/** A screen grab as src/capture/screen.ts hands it over: pixels, display JPEG, lossless PNG to come. */
export interface GrabToStore {
  pixels: RawPixels;
  display: Uint8Array;
  png: () => Promise<Uint8Array>;
}

export interface AttachOptions {
  /** Device pixels per logical pixel of a screen capture (its scale factor); 1 for files. */
  devicePixelRatio?: number;
  /** Overrides the maxTiles setting for this image. */
  maxTiles?: number;
  /** Only this part (upright original pixels) is shown to the model; the original is kept whole. */
  crop?: PixelRect | null;
  /** The image's decoded pixels, when the caller has them (a screen grab): the model copy is made from them. */
  pixels?: RawPixels;
  /**
   * Return before the model-sized copy is written (it is written in the background): for images
   * going to the Conversation, which awaits the copy before the engine sees it.
   */
  modelCopyInBackground?: boolean;
}

/** A clip's frames stored as attachments (one 448-px tile each for the model), and the turn's record of them. */
export interface StoredClip {
  frames: Attachment[];
  record: ClipRecord;
}

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
    if (buf.byteLength > MAX_ATTACHMENT_BYTES) throw new ImageError(`${basename(originalName)} is over ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB; larger images are refused.`);
    const info = probeImage(buf.subarray(0, 256 * 1024), basename(originalName));
    const hash = createHash('sha256').update(buf).digest('hex').slice(0, 32);
    const crop = options.crop ?? null;
    // A cropped copy is another image to the model (and to the history), though the file is shared.
    const id = crop ? `${hash}-crop${crop.x}_${crop.y}_${crop.width}_${crop.height}` : hash;
    const path = join(this.dir, `${hash}.${storedExtension(info.format)}`);
    const written = !(await fileExists(path));
    if (written) {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(path, buf);
    }
    let model: PreparedImage;
    try {
      model = await prepareForModel(path, {
        outDir: this.modelDir,
        // Named after the id, as a conversation read back from the history finds it (modelCopyPath).
        key: id,
        crop: crop && cropFromPixelRect(crop),
        maxTiles: options.maxTiles ?? this.settings.maxTiles(),
        devicePixelRatio: options.devicePixelRatio ?? 1,
        pixels: options.pixels,
        background: options.modelCopyInBackground,
      });
    } catch (err) {
      // A refused image leaves nothing behind (a header that parses over pixels that do not).
      if (written) await rm(path, { force: true });
      // The message names the file as the user knows it, not the stored copy's hash.
      throw err instanceof ImageError ? new ImageError(err.message.replaceAll(basename(path), basename(originalName))) : err;
    }
    const upright = uprightSize(model.transform.stored, model.transform.orientation);
    return { id, path, name: basename(originalName), format: info.format, ...upright, model, tiles: tileCount(model.grid) };
  }

  /** Stores each chosen frame of a clip (src/video/clip.ts) as a PNG attachment whose model copy is one tile. */
  async addClip(clip: SampledClip): Promise<StoredClip> {
    const frames: Attachment[] = [];
    for (const f of clip.frames) frames.push(await this.add(f.png, `${clip.name} frame ${f.number} at ${clipTime(f.seconds)}.png`, { maxTiles: 1 }));
    return {
      frames,
      record: { name: clip.name, fps: clip.fps, frameCount: clip.frameCount, duration: clip.duration, frames: clip.frames.map((f) => ({ number: f.number, index: f.index, seconds: f.seconds })) },
    };
  }

  /**
   * Reads an image file for the chat, bounded: regular files of at most MAX_ATTACHMENT_BYTES (the
   * cap pasted bytes have), refused from their stat otherwise, before a byte is read.
   */
  async addFile(path: string, options: AttachOptions = {}): Promise<Attachment> {
    const name = basename(path);
    return this.add(await readRegularFile(path, MAX_ATTACHMENT_BYTES, name), name, options);
  }

  /**
   * Stores a screen grab on the way to the chat: its display JPEG now, its lossless PNG (the
   * original: `path`) in the background, as the model-sized copy is. Named after its pixels, so
   * the name is known before the PNG exists; modelCopyReady(path) resolves once the PNG is written.
   */
  async addGrab(grab: GrabToStore, originalName: string, options: Pick<AttachOptions, 'devicePixelRatio' | 'maxTiles'> = {}): Promise<Attachment> {
    const { pixels } = grab;
    const hash = createHash('sha256').update(`${pixels.width}x${pixels.height}x${pixels.channels}:`).update(pixels.data).digest('hex').slice(0, 32);
    const path = join(this.dir, `${hash}.png`);
    const displayPath = join(this.dir, `${hash}.display.jpg`);
    await mkdir(this.dir, { recursive: true });
    if (!(await fileExists(displayPath))) await writeFileAtomic(displayPath, grab.display);
    if (!(await fileExists(path))) void writeInBackground(path, async () => writeFileAtomic(path, await grab.png())).catch(() => undefined);
    const model = await prepareForModel(path, {
      outDir: this.modelDir,
      key: hash,
      maxTiles: options.maxTiles ?? this.settings.maxTiles(),
      devicePixelRatio: options.devicePixelRatio ?? 1,
      pixels,
      background: true,
    });
    const displayInline = `data:image/jpeg;base64,${Buffer.from(grab.display.buffer, grab.display.byteOffset, grab.display.byteLength).toString('base64')}`;
    return { id: hash, path, displayPath, displayInline, name: basename(originalName), format: 'png', width: pixels.width, height: pixels.height, model, tiles: tileCount(model.grid) };
  }
}
