// The worker thread that decodes one BMP file (started by decodeBmpFile in ./bmp.ts): the decoder
// is plain JavaScript, ~1 s for a 4000×4000 file, which the host's event loop must not wait through.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { BmpJob, BmpWorkerMessage } from '../protocol/imageJobs';
import { decodeBmp } from './bmp';
import { ImageError } from './probe';
import { errorMessage } from '../util/errorMessage';

async function main(port: NonNullable<typeof parentPort>, { path, name }: BmpJob): Promise<void> {
  let msg: BmpWorkerMessage;
  const transfer: ArrayBuffer[] = [];
  try {
    const { width, height, data } = decodeBmp(await readFile(path), name);
    // Buffer.alloc of this size owns its whole ArrayBuffer: it moves to the host without a copy.
    const rgba = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? (data.buffer as ArrayBuffer) : new Uint8Array(data).buffer;
    msg = { type: 'decoded', width, height, rgba };
    transfer.push(rgba);
  } catch (err) {
    msg = { type: 'refused', message: (err instanceof ImageError ? err.message : `${name} could not be read (${errorMessage(err)}).`).slice(0, 2000) };
  }
  port.postMessage(msg, transfer);
}

if (!parentPort) throw new Error('bmpDecoder must be started as a worker thread.');
void main(parentPort, workerData as BmpJob);
