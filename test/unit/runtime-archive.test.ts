// The runtime unpacker against hostile archives: every way out of the destination folder is
// refused with a clear error and nothing is left behind; generated mutations of honest archives
// either unpack inside the folder or fail with a RuntimeError, never anything else.
import { strict as assert } from 'node:assert';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { safeEntryPath, unpackArchive } from '../../src/engine/local/runtimes/archive';
import { RuntimeError } from '../../src/engine/local/runtimes/errors';
import { tar, type TarEntry, tarGz, zip, type ZipEntry } from '../fixtures/archives';

const root = mkdtempSync(join(tmpdir(), 'lens-unpack-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh case folder: the archive, the destination inside `box/`, and a sentinel beside it. */
function caseDir(): { dir: string; dest: string; box: string } {
  const dir = join(root, `case-${n++}`);
  const box = join(dir, 'box');
  mkdirSync(box, { recursive: true });
  writeFileSync(join(dir, 'sentinel'), 'untouched');
  return { dir, dest: join(box, 'runtime'), box };
}

/** Every path under `dir` (links not followed). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      out.push(relative(dir, p));
      if (lstatSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

async function refused(file: string, dest: string, pattern: RegExp): Promise<void> {
  await assert.rejects(unpackArchive(file, dest), (err: unknown) => {
    assert.ok(err instanceof RuntimeError, `a RuntimeError, got ${String(err)}`);
    assert.equal(err.code, 'archive');
    assert.match(err.message, pattern);
    return true;
  });
  assert.equal(existsSync(dest), false, 'nothing at the destination');
  assert.deepEqual(readdirSync(join(dest, '..')).filter((f) => f.startsWith('runtime.unpacking')), [], 'no staging folder left');
}

function writeTarGz(dir: string, entries: TarEntry[]): string {
  const file = join(dir, 'a.tar.gz');
  writeFileSync(file, tarGz(entries));
  return file;
}

function writeZip(dir: string, entries: ZipEntry[]): string {
  const file = join(dir, 'a.zip');
  writeFileSync(file, zip(entries));
  return file;
}

describe('unpackArchive: tar.gz', () => {
  test('an honest archive in one folder unpacks without that folder, modes and links beside files kept', async () => {
    const { dir, dest } = caseDir();
    const file = writeTarGz(dir, [
      { name: 'llama-b1/', type: '5', mode: 0o755 },
      { name: 'llama-b1/llama-server', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { name: 'llama-b1/libllama.so.0.4.0', body: 'lib' },
      { name: 'llama-b1/libllama.so.0', type: '2', linkname: 'libllama.so.0.4.0' },
    ]);
    const r = await unpackArchive(file, dest);
    assert.deepEqual(r, { files: 2, links: 1, bytes: 21 });
    assert.deepEqual(tree(dest), ['libllama.so.0', 'libllama.so.0.4.0', 'llama-server']);
    assert.equal(readlinkSync(join(dest, 'libllama.so.0')), 'libllama.so.0.4.0');
    assert.equal(lstatSync(join(dest, 'llama-server')).mode & 0o777, 0o755);
    assert.equal(lstatSync(join(dest, 'libllama.so.0.4.0')).mode & 0o777, 0o644);
  });

  test('keep() leaves out what a runtime does not need', async () => {
    const { dir, dest } = caseDir();
    const file = writeTarGz(dir, [
      { name: 'llama-server', body: 'x', mode: 0o755 },
      { name: 'llama-cli', body: 'y', mode: 0o755 },
    ]);
    await unpackArchive(file, dest, { keep: (p) => p !== 'llama-cli' });
    assert.deepEqual(tree(dest), ['llama-server']);
  });

  const hostile: Array<[string, TarEntry[], RegExp]> = [
    ['a ../ name', [{ name: '../evil', body: 'x' }], /climbs out of its folder/],
    ['a ../ inside a name', [{ name: 'llama-b1/../../evil', body: 'x' }], /climbs out/],
    ['an absolute name', [{ name: '/tmp/evil', body: 'x' }], /absolute path/],
    ['a link to an absolute path', [{ name: 'lib.so', type: '2', linkname: '/etc/passwd' }], /not to a file beside it/],
    ['a link up the tree', [{ name: 'lib.so', type: '2', linkname: '../sentinel' }], /not to a file beside it/],
    ['a link to a folder path', [{ name: 'lib.so', type: '2', linkname: 'sub/lib.so' }], /not to a file beside it/],
    ['a file written through a link', [{ name: 'd', type: '2', linkname: 'x' }, { name: 'd/evil', body: 'x' }], /lies below the link d/],
    ['a file over a link', [{ name: 'f', type: '2', linkname: 'x' }, { name: 'f', body: 'x' }], /holds f twice/],
    ['a hard link', [{ name: 'a', body: 'x' }, { name: 'b', type: '1', linkname: '/etc/passwd' }], /hard link/],
    ['a character device', [{ name: 'tty', type: '3' }], /special file/],
    ['a backslash name', [{ name: '..\\evil', body: 'x' }], /backslash/],
    ['a drive-letter name', [{ name: 'C:evil', body: 'x' }], /absolute path/],
    ['a duplicate file', [{ name: 'a', body: 'x' }, { name: 'a', body: 'y' }], /holds a twice/],
  ];
  for (const [what, entries, pattern] of hostile) {
    test(`refuses ${what}, writes nothing`, async () => {
      const { dir, dest, box } = caseDir();
      await refused(writeTarGz(dir, entries), dest, pattern);
      assert.deepEqual(readdirSync(box), ['a.tar.gz'].filter((f) => existsSync(join(box, f))));
      assert.equal(readFileSync(join(dir, 'sentinel'), 'utf8'), 'untouched');
      assert.ok(!existsSync('/tmp/evil') || lstatSync('/tmp/evil').mtimeMs < Date.now() - 60_000);
    });
  }

  test('a pax path climbing out is refused like a plain one', async () => {
    const { dir, dest } = caseDir();
    const record = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 1;
      while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
      return `${len}${body}`;
    };
    await refused(writeTarGz(dir, [{ name: 'PaxHeader', type: 'x', body: record('path', '../../evil') }, { name: 'harmless', body: 'x' }]), dest, /climbs out/);
  });

  test('a GNU long name climbing out is refused', async () => {
    const { dir, dest } = caseDir();
    await refused(writeTarGz(dir, [{ name: '././@LongLink', type: 'L', body: `${'a/'.repeat(10)}../../../../../../../../../../../evil\0` }, { name: 'short', body: 'x' }]), dest, /climbs out/);
  });

  test('more bytes than the limit: refused before they are all written', async () => {
    const { dir, dest } = caseDir();
    // 64 MiB of zeros gzip to ~64 KiB: a small download that would fill a disk.
    const file = join(dir, 'bomb.tar.gz');
    writeFileSync(file, gzipSync(tar([{ name: 'zeros', body: Buffer.alloc(64 * 2 ** 20) }])));
    await assert.rejects(unpackArchive(file, dest, { maxBytes: 16 * 2 ** 20 }), /more than 16 MiB/);
    assert.equal(existsSync(dest), false);
  });

  test('more entries than the limit: refused', async () => {
    const { dir, dest } = caseDir();
    const entries = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
    await assert.rejects(unpackArchive(writeTarGz(dir, entries), dest, { maxEntries: 20 }), /more than 20 entries/);
  });

  test('a header that claims more data than there is: truncated, refused', async () => {
    const { dir, dest } = caseDir();
    const file = join(dir, 'cut.tar.gz');
    writeFileSync(file, gzipSync(tar([{ name: 'big', body: 'short', claimedSize: 10_000 }]).subarray(0, 1024)));
    await refused(file, dest, /truncated/);
  });

  test('not gzip, or gzip of something not tar: refused with what it is', async () => {
    const { dir, dest } = caseDir();
    const notGz = join(dir, 'x.tar.gz');
    writeFileSync(notGz, 'this is not an archive at all');
    await refused(notGz, dest, /not a gzip file/);
    const notTar = join(dir, 'y.tar.gz');
    writeFileSync(notTar, gzipSync(Buffer.alloc(2048, 0x41)));
    await refused(notTar, dest, /checksum mismatch/);
  });

  test('generated mutations of an honest archive: unpacked inside, or refused as an archive error', async () => {
    const honest = tar([
      { name: 'llama-b1/', type: '5', mode: 0o755 },
      { name: 'llama-b1/llama-server', body: 'exe'.repeat(200), mode: 0o755 },
      { name: 'llama-b1/libggml.so.0.1', body: 'lib'.repeat(300) },
      { name: 'llama-b1/libggml.so.0', type: '2', linkname: 'libggml.so.0.1' },
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(honest.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), async (flips) => {
        const mutated = Buffer.from(honest);
        for (const [at, value] of flips) mutated[at] = value;
        const { dir, dest, box } = caseDir();
        const file = join(dir, 'm.tar.gz');
        writeFileSync(file, gzipSync(mutated));
        try {
          await unpackArchive(file, dest, { maxBytes: 2 ** 20, maxEntries: 100 });
        } catch (err) {
          assert.ok(err instanceof RuntimeError && err.code === 'archive', `only archive errors (got ${String(err)})`);
        }
        assert.deepEqual(readdirSync(dir).sort(), ['box', 'm.tar.gz', 'sentinel']);
        assert.ok(readdirSync(box).every((f) => f === 'runtime'), `only the destination in its folder: ${readdirSync(box).join(', ')}`);
        for (const p of tree(join(box, 'runtime'))) {
          const full = join(box, 'runtime', p);
          if (lstatSync(full).isSymbolicLink()) assert.ok(!readlinkSync(full).includes('/'), `link ${p} points beside itself`);
        }
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});

describe('unpackArchive: zip', () => {
  test('an honest flat zip unpacks as it is', async () => {
    const { dir, dest } = caseDir();
    const file = writeZip(dir, [
      { name: 'llama-server.exe', body: 'MZ...' },
      { name: 'ggml-cuda.dll', body: 'dll' },
    ]);
    const r = await unpackArchive(file, dest);
    assert.equal(r.files, 2);
    assert.deepEqual(tree(dest), ['ggml-cuda.dll', 'llama-server.exe']);
  });

  const hostile: Array<[string, ZipEntry[]]> = [
    ['a ../ name (zip slip)', [{ name: '../evil.dll', body: 'x' }]],
    ['a ../ inside a name', [{ name: 'bin/../../evil.dll', body: 'x' }]],
    ['an absolute name', [{ name: '/tmp/evil.dll', body: 'x' }]],
    ['a link out of the folder', [{ name: 'lib.so', body: '../../sentinel', mode: 0o120777 }]],
    ['a link to an absolute path', [{ name: 'lib.so', body: '/etc/passwd', mode: 0o120777 }]],
    ['a size that lies', [{ name: 'a.dll', body: 'x'.repeat(1000), claimedSize: 10 }]],
    ['a FIFO', [{ name: 'pipe', body: '', mode: 0o010644 }]],
  ];
  for (const [what, entries] of hostile) {
    test(`refuses ${what}, writes nothing`, async () => {
      const { dir, dest } = caseDir();
      await refused(writeZip(dir, entries), dest, /./);
      assert.equal(readFileSync(join(dir, 'sentinel'), 'utf8'), 'untouched');
      assert.deepEqual(readdirSync(dir).sort(), ['a.zip', 'box', 'sentinel']);
    });
  }

  test('a zip bomb: refused at the byte limit', async () => {
    const { dir, dest } = caseDir();
    const file = writeZip(dir, [{ name: 'zeros.dll', body: Buffer.alloc(32 * 2 ** 20) }]);
    await assert.rejects(unpackArchive(file, dest, { maxBytes: 8 * 2 ** 20 }), /more than 8 MiB/);
    assert.equal(existsSync(dest), false);
  });

  test('generated mutations of an honest zip: unpacked inside, or refused as an archive error', async () => {
    const honest = zip([
      { name: 'llama-server.exe', body: 'MZ'.repeat(300) },
      { name: 'ggml.dll', body: 'dll'.repeat(300) },
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(honest.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (flips) => {
        const mutated = Buffer.from(honest);
        for (const [at, value] of flips) mutated[at] = value;
        const { dir, dest, box } = caseDir();
        const file = join(dir, 'm.zip');
        writeFileSync(file, mutated);
        try {
          await unpackArchive(file, dest, { maxBytes: 2 ** 20, maxEntries: 100 });
        } catch (err) {
          assert.ok(err instanceof RuntimeError && err.code === 'archive', `only archive errors (got ${String(err)})`);
        }
        assert.deepEqual(readdirSync(dir).sort(), ['box', 'm.zip', 'sentinel']);
        assert.ok(readdirSync(box).every((f) => f === 'runtime'));
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});

describe('safeEntryPath', () => {
  test('any string: refused, or a relative path with no .. that stays below the folder', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.constantFrom('..', '.', '', 'a', 'b.so', '/', '\\', 'C:', '\0'), { maxLength: 12 }).map((p) => p.join('/'))), (raw) => {
        let path: string | null;
        try {
          path = safeEntryPath(raw);
        } catch (err) {
          assert.ok(err instanceof RuntimeError && err.code === 'archive');
          return;
        }
        if (path === null) return;
        assert.ok(!path.startsWith('/') && !path.split('/').includes('..') && !path.includes('\\'), `unsafe path accepted: ${JSON.stringify(path)}`);
        assert.ok(!relative('/root/dest', join('/root/dest', path)).startsWith('..'));
      }),
      { numRuns: 2000 },
    );
  });
});
