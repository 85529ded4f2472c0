// Attachments are copied into the extension's storage: the webview may load only from there,
// the worker reads that copy, and the chat keeps working if the original moves.
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { probeImage, type ImageFormat } from '../images';
import { fileExists } from '../files';

export interface Attachment {
  id: string;
  /** Absolute path of the stored copy. */
  path: string;
  /** The original file name, for display. */
  name: string;
  format: ImageFormat;
  width: number;
  height: number;
}

const EXTENSION: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', gif: 'gif', bmp: 'bmp', webp: 'webp' };

export class AttachmentStore {
  constructor(readonly dir: string) {}

  /** Validates `bytes` as an image and stores it (content-addressed, so re-adding is free). */
  async add(bytes: Uint8Array, originalName: string): Promise<Attachment> {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const info = probeImage(buf.subarray(0, 256 * 1024), basename(originalName));
    const id = createHash('sha256').update(buf).digest('hex').slice(0, 32);
    const path = join(this.dir, `${id}.${EXTENSION[info.format]}`);
    if (!(await fileExists(path))) {
      await mkdir(this.dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, buf);
      await rename(tmp, path);
    }
    return { id, path, name: basename(originalName), ...info };
  }
}
