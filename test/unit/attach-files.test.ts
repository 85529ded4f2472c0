// Attaching files to the chat (AttachmentStore.addFile, what the chat view's attachUris calls for
// dropped and picked files): only regular files within the pasted-bytes cap are read, and only
// that many bytes; a device, a FIFO, a folder or an oversized file is refused at once with a
// message naming it, and a refused image leaves no bytes in the attachment store.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { readRegularFile } from '../../src/files';
import { MAX_ATTACHMENT_BYTES } from '../../src/protocol/webview';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-attach-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `root` (none when it does not exist). */
function filesUnder(root: string): string[] {
  return existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name) : [];
}

/** Rejects with what `promise` was doing if it has not settled within `ms`, so a read that never ends fails the test. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not refused within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('attaching files', () => {
  const storeDir = join(dir, 'attachments');
  const store = new AttachmentStore(storeDir);
  const fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  const folder = join(dir, 'folder.png');
  mkdirSync(folder);
  // Sparse: 51 MB by its size, no blocks on disk; reading it whole would cost the host 51 MB.
  const sparse = join(dir, 'sparse.png');
  writeFileSync(sparse, testPng(8, 8));
  truncateSync(sparse, 51 * 1024 * 1024);
  const corrupt = join(dir, 'corrupt.png');
  writeFileSync(corrupt, Buffer.concat([testPng(64, 64).subarray(0, 33), Buffer.from('IDAT not deflate data at all')]));
  const notImage = join(dir, 'notes.png');
  writeFileSync(notImage, 'plain text, not an image');

  const cases: [string, string, RegExp][] = [
    ['/dev/zero', '/dev/zero', /zero is not a regular file/],
    ['a FIFO (no writer: opening it would wait forever)', fifo, /pipe\.png is not a regular file/],
    ['a folder', folder, /folder\.png is a folder/],
    ['a 51 MB sparse file', sparse, /sparse\.png is 51\.0 MB; files over 50\.0 MB are refused/],
    ['a PNG whose pixels do not decode', corrupt, /corrupt\.png cannot be decoded/],
    ['a file that is not an image', notImage, /notes\.png is not an image/],
    ['a file that does not exist', join(dir, 'missing.png'), /missing\.png cannot be read/],
  ];
  for (const [what, path, message] of cases) {
    it(`refuses ${what} at once, reading little, and stores nothing`, async () => {
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      await assert.rejects(within(2000, what, store.addFile(path)), message);
      const ms = performance.now() - started;
      const grewMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      assert.ok(ms < 1000, `${what}: refused in ${ms.toFixed(0)} ms`);
      assert.ok(grewMiB < 20, `${what}: the host grew ${grewMiB.toFixed(1)} MiB`);
      assert.deepEqual(filesUnder(storeDir), [], 'the attachment store holds nothing');
    });
  }

  it('refuses more bytes than the cap however they arrive (pasted bytes go through add)', async () => {
    await assert.rejects(store.add(Buffer.alloc(MAX_ATTACHMENT_BYTES + 1), 'big.png'), /big\.png is over 50 MB/);
    assert.deepEqual(filesUnder(storeDir), []);
  });

  it('attaches a regular image file', async () => {
    const good = join(dir, 'good.png');
    writeFileSync(good, testPng(64, 48));
    const a = await store.addFile(good);
    assert.deepEqual([a.name, a.width, a.height], ['good.png', 64, 48]);
    assert.equal(filesUnder(storeDir).filter((f) => f.endsWith('.png')).length, 2, 'the original and its model-sized copy');
  });

  it('reads a file of exactly the cap whole and refuses one byte more', async () => {
    const file = join(dir, 'exact.bin');
    writeFileSync(file, Buffer.alloc(4096, 7));
    assert.equal((await readRegularFile(file, 4096)).length, 4096);
    await assert.rejects(readRegularFile(file, 4095, 'exact.bin'), /exact\.bin is 4096 bytes; files over 4095 bytes are refused/);
  });
});
