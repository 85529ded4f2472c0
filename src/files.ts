import { constants } from 'node:fs';
import { access, type FileHandle, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { errorMessage } from './util/errorMessage';

export async function fileExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** A file refused before (or while) it was read: the message says why, naming the file. */
export class FileRefusedError extends Error {
  override name = 'FileRefusedError';
}

const MB = 1024 * 1024;

function describeSize(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${bytes} bytes`;
}

/**
 * Opens a regular file of at most `maxBytes` for reading: a device (/dev/zero), a FIFO, a socket
 * or a folder is refused from its stat, before anything opens it, and again from the open file's
 * own stat (the path may have been swapped since). `name` is what the messages call it.
 */
export async function openRegularFile(path: string, maxBytes: number, name = path): Promise<{ handle: FileHandle; size: number }> {
  let s;
  try {
    s = await stat(path);
  } catch (err) {
    throw new FileRefusedError(`${name} cannot be read: ${errorMessage(err)}`);
  }
  if (s.isDirectory()) throw new FileRefusedError(`${name} is a folder, not a file.`);
  if (!s.isFile()) throw new FileRefusedError(`${name} is not a regular file (a device, pipe or socket); only files can be attached.`);
  if (s.size > maxBytes) throw new FileRefusedError(`${name} is ${describeSize(s.size)}; files over ${describeSize(maxBytes)} are refused.`);
  // O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it must not wait for a writer.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: Error) => {
    throw new FileRefusedError(`${name} cannot be read: ${err.message}`);
  });
  const opened = await handle.stat().catch(() => null);
  if (!opened?.isFile()) {
    await handle.close();
    throw new FileRefusedError(`${name} is not a regular file (it changed while it was opened).`);
  }
  return { handle, size: opened.size };
}

/**
 * Reads a regular file of at most `maxBytes`, never more (openRegularFile refuses what is not
 * one); a file that grows past the cap while it is read is refused after `maxBytes + 1` bytes.
 */
export async function readRegularFile(path: string, maxBytes: number, name = path): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, maxBytes, name);
  try {
    let buf = Buffer.alloc(Math.min(size, maxBytes) + 1);
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        // One byte over the cap is enough to refuse a file that grew since its stat.
        if (filled > maxBytes) throw new FileRefusedError(`${name} grew past ${describeSize(maxBytes)} while it was read; it is refused.`);
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

let temporaryFiles = 0;

/** How writeFileAtomic names its temporary files: `<path>.<pid>.<n>.tmp`, beside the file. */
export const TEMPORARY_FILE = /\.\d+\.\d+\.tmp$/;

export interface AtomicWriteOptions {
  /** Flush the new content to disk before the rename: a power cut cannot leave the new name on empty blocks. */
  fsync?: boolean;
}

/**
 * Writes `path` so that readers see the old content or all of the new, never a part: the content
 * goes to a temporary file beside it (TEMPORARY_FILE), which is renamed over `path`, or removed
 * when anything fails. `data` is the content, or a function that fills the temporary file it is given.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | ((tmp: string) => Promise<unknown>), options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = `${path}.${process.pid}.${++temporaryFiles}.tmp`;
  try {
    if (typeof data === 'function') await data(tmp);
    else await writeFile(tmp, data);
    if (options.fsync) {
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
