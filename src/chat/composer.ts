// The composer's state in the host: the images waiting to be sent with the next question, each
// with its crop. Every change is reported (with a message when something was refused), and the
// images already there stay whatever a new one does. No vscode import.
import { readFile } from 'node:fs/promises';
import { clampRect, type PixelRect } from '../protocol/rect';
import { errorMessage } from '../util/errorMessage';
import type { Attachment, AttachmentStore } from './attachments';

/** A waiting image: the stored original and, when cropped, the copy the model will see. */
export interface PendingImage {
  original: Attachment;
  shown: Attachment;
  crop: PixelRect | null;
  /** Fewer tiles than the setting, chosen for this image (What the model saw). */
  maxTiles?: number;
}

export class Composer {
  private pending: PendingImage[] = [];

  constructor(
    private readonly attachments: Pick<AttachmentStore, 'add'>,
    /** After every change; `error` says what was refused (shown next to the composer). */
    private readonly onChange: (error: string | null) => void,
  ) {}

  get images(): readonly PendingImage[] {
    return this.pending;
  }

  /** Adds the attachment `store` makes; a failure is reported, nothing else changes. */
  async attach(store: () => Promise<Attachment>): Promise<void> {
    let original: Attachment;
    try {
      original = await store();
    } catch (err) {
      this.onChange(errorMessage(err));
      return;
    }
    if (!this.pending.some((p) => p.shown.id === original.id)) this.pending.push({ original, shown: original, crop: null });
    this.onChange(null);
  }

  /** Reports a refusal that happened before anything was stored (a URI that is not a file). */
  refuse(error: string): void {
    this.onChange(error);
  }

  remove(id: string): void {
    this.pending = this.pending.filter((p) => p.shown.id !== id);
    this.onChange(null);
  }

  /** Crops a waiting image to `rect` (original pixels, clamped again: the webview is untrusted); null undoes it. */
  async crop(id: string, rect: PixelRect | null): Promise<void> {
    const p = this.pending.find((x) => x.shown.id === id);
    if (!p) return;
    try {
      if (rect) {
        const clamped = clampRect(rect, p.original.width, p.original.height);
        if (!clamped) throw new Error('The crop is empty: drag a rectangle over the image.');
        p.shown = await this.attachments.add(await readFile(p.original.path), p.original.name, { crop: clamped, ...(p.maxTiles ? { maxTiles: p.maxTiles } : {}) });
        p.crop = clamped;
      } else {
        p.shown = p.maxTiles ? await this.attachments.add(await readFile(p.original.path), p.original.name, { maxTiles: p.maxTiles }) : p.original;
        p.crop = null;
      }
      this.onChange(null);
    } catch (err) {
      this.onChange(errorMessage(err));
    }
  }

  /** Sends a waiting image on at most `maxTiles` tiles (its crop kept); a later crop keeps the limit. */
  async setTiles(id: string, maxTiles: number): Promise<void> {
    const p = this.pending.find((x) => x.shown.id === id);
    if (!p) return;
    try {
      p.shown = await this.attachments.add(await readFile(p.original.path), p.original.name, { crop: p.crop, maxTiles });
      p.maxTiles = maxTiles;
      this.onChange(null);
    } catch (err) {
      this.onChange(errorMessage(err));
    }
  }

  /** The images the model will see with the question being sent; the composer is empty after. */
  take(): Attachment[] {
    const images = this.pending.map((p) => p.shown);
    this.pending = [];
    this.onChange(null);
    return images;
  }
}
