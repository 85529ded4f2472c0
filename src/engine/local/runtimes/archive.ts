// Unpacks a llama.cpp release archive (.tar.gz for Linux and macOS, .zip for Windows) into a new
// folder, refusing anything that could write outside it or fill the disk: absolute paths, `..`,
// links that point anywhere but a file beside them, entries below a link, devices, duplicate
// names, and more entries or bytes than the limits. Nothing is left at `dest` unless every entry
// was accepted.
//
// Why this and not `tar`/`unzip`/PowerShell: one policy, tested here, on every platform (GNU tar,
// bsdtar and Expand-Archive differ on links and `..`). The zip container is read by yauzl (pure JS,
// maintained, zip64); the tar container is a few 512-byte headers (ustar, pax and GNU long names),
// read below with the header checksum checked.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import yauzl from 'yauzl';
import { RuntimeError } from './errors';
import { errorMessage } from '../../../util/errorMessage';

export interface UnpackOptions {
  /** Most bytes of file content in all; default 4 GiB (a ROCm build is well over 1 GiB). */
  maxBytes?: number;
  /** Most entries; default 20 000. */
  maxEntries?: number;
  /** Which files to write, by their path in the archive ('/'-separated); default all. */
  keep?: (path: string) => boolean;
}

export interface UnpackResult {
  files: number;
  links: number;
  bytes: number;
}

const MAX_NAME = 1024;
const MAX_DEPTH = 32;
/** A pax header or GNU long name is a few hundred bytes; anything larger is not an honest one. */
const MAX_META = 64 * 1024;

function refuse(message: string): never {
  throw new RuntimeError('archive', message);
}

/** The archive path made safe to join under the destination, or null for the root itself. */
export function safeEntryPath(raw: string): string | null {
  if (raw.length > MAX_NAME) refuse(`an entry name is ${raw.length} characters long`);
  if (/[\0]/.test(raw)) refuse(`the entry ${JSON.stringify(raw.slice(0, 80))} has a NUL in its name`);
  if (raw.includes('\\')) refuse(`the entry ${JSON.stringify(raw.slice(0, 80))} has a backslash in its name`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) refuse(`the entry ${JSON.stringify(raw.slice(0, 80))} is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse(`the entry ${JSON.stringify(raw.slice(0, 80))} climbs out of its folder (..)`);
  if (parts.length > MAX_DEPTH) refuse(`the entry ${JSON.stringify(raw.slice(0, 80))} is nested ${parts.length} folders deep`);
  return parts.length === 0 ? null : parts.join('/');
}

/** What an archive entry is, once its container has been read. */
type Entry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; size: number; executable: boolean; write: (fh: FileHandle) => Promise<void> }
  | { kind: 'link'; path: string; target: string };

/** Writes entries under `root` with the policy above; shared by the tar and zip readers. */
class Writer {
  private readonly seen = new Set<string>();
  private readonly links = new Set<string>();
  readonly result: UnpackResult = { files: 0, links: 0, bytes: 0 };
  private entries = 0;

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly maxEntries: number,
    private readonly keep: (path: string) => boolean,
  ) {}

  private claim(path: string): void {
    if (++this.entries > this.maxEntries) refuse(`it has more than ${this.maxEntries} entries`);
    if (this.seen.has(path)) refuse(`it holds ${path} twice`);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (this.links.has(parts.slice(0, i).join('/'))) refuse(`${path} lies below the link ${parts.slice(0, i).join('/')}`);
    }
    this.seen.add(path);
  }

  async add(entry: Entry): Promise<void> {
    this.claim(entry.path);
    try {
      await this.write(entry);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') refuse(`${entry.path} collides with another entry`);
      throw err;
    }
  }

  private async write(entry: Entry): Promise<void> {
    const to = join(this.root, ...entry.path.split('/'));
    if (entry.kind === 'dir') return void (await mkdir(to, { recursive: true }));
    if (!this.keep(entry.path)) return;
    if (entry.kind === 'link') {
      // Only what shared libraries need: a name beside the link (libllama.so -> libllama.so.0).
      if (!/^[A-Za-z0-9._+-]{1,255}$/.test(entry.target) || entry.target === '.' || entry.target === '..') {
        refuse(`the link ${entry.path} points to ${JSON.stringify(entry.target.slice(0, 80))}, not to a file beside it`);
      }
      this.links.add(entry.path);
      await mkdir(dirname(to), { recursive: true });
      await symlink(entry.target, to);
      this.result.links++;
      return;
    }
    if (this.result.bytes + entry.size > this.maxBytes) refuse(`it unpacks to more than ${Math.round(this.maxBytes / 2 ** 20)} MiB`);
    this.result.bytes += entry.size;
    await mkdir(dirname(to), { recursive: true });
    // 'wx': never through something already there (a link of the same name included).
    const fh = await open(to, 'wx', entry.executable ? 0o755 : 0o644);
    try {
      await entry.write(fh);
    } finally {
      await fh.close();
    }
    this.result.files++;
  }
}

/** Pulls exact byte counts out of a stream of chunks. */
class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  consumed = 0;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly limit: number,
  ) {}

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    this.consumed += n;
    if (this.consumed > this.limit) refuse(`it unpacks to more than ${Math.round(this.limit / 2 ** 20)} MiB`);
    return out;
  }

  /** Exactly n bytes, or null at a clean end; a cut in the middle is an error. */
  async read(n: number): Promise<Buffer | null> {
    await this.fill(n);
    if (this.length === 0 && this.done) return null;
    if (this.length < n) refuse('it ends in the middle of an entry (truncated)');
    return Buffer.from(this.take(n));
  }

  /** Hands n bytes to `sink` in pieces of at most 1 MiB. */
  async pipe(n: number, sink: (piece: Buffer) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      await this.fill(1);
      if (this.length === 0) refuse('it ends in the middle of an entry (truncated)');
      const piece = this.take(Math.min(left, this.length, 2 ** 20));
      left -= piece.length;
      await sink(piece);
    }
  }
}

function octal(field: Buffer, what: string): number {
  // GNU base-256 for sizes over 8 GiB: larger than anything accepted here.
  if (field[0]! & 0x80) refuse(`a tar ${what} field uses base-256 (an entry over 8 GiB)`);
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]{1,12}$/.test(text)) refuse(`a tar ${what} field is not a number (${JSON.stringify(text.slice(0, 20))})`);
  return parseInt(text, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** pax extended header records: "<len> key=value\n". */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > data.length) refuse('a pax header record has a bad length');
    const record = data.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

async function unpackTar(file: string, writer: Writer, limit: number): Promise<void> {
  // .tar.br: the VSIX's own build, packed solid (its CPU variants share most of their bytes).
  const gunzip = createReadStream(file).pipe(file.endsWith('.br') ? createBrotliDecompress() : createGunzip());
  const reader = new ByteReader(gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>, limit);
  const pad = (n: number) => (512 - (n % 512)) % 512;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax = new Map<string, string>();
  try {
    for (;;) {
      const header = await reader.read(512);
      if (!header || header.every((b) => b === 0)) return;
      const storedText = header.toString('latin1', 148, 156).replace(/\0.*$/s, '').trim();
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
      if (!/^[0-7]{1,8}$/.test(storedText) || sum !== parseInt(storedText, 8)) refuse('a tar header is damaged (checksum mismatch): it is not a tar archive, or it is corrupt');
      const type = String.fromCharCode(header[156]!) || '0';
      let size = octal(header.subarray(124, 136), 'size');
      if (pax.has('size')) size = Number(pax.get('size'));
      if (!Number.isSafeInteger(size) || size < 0) refuse('a tar entry has a bad size');
      const meta = async (): Promise<Buffer> => {
        if (size > MAX_META) refuse(`a tar ${type === 'x' || type === 'g' ? 'pax header' : 'long name'} is ${size} bytes`);
        const data = (await reader.read(size + pad(size))) ?? refuse('it ends inside a tar header');
        return data.subarray(0, size);
      };
      if (type === 'x') {
        pax = paxRecords(await meta());
        continue;
      }
      if (type === 'g') {
        await meta();
        continue;
      }
      if (type === 'L' || type === 'K') {
        const value = cString(await meta());
        if (type === 'L') longName = value;
        else longLink = value;
        continue;
      }
      const prefix = header.subarray(257, 263).toString('latin1').startsWith('ustar') ? cString(header.subarray(345, 500)) : '';
      const rawName = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
      const linkName = pax.get('linkpath') ?? longLink ?? cString(header.subarray(157, 257));
      const mode = octal(header.subarray(100, 108), 'mode');
      pax = new Map();
      longName = null;
      longLink = null;
      const path = safeEntryPath(rawName);
      const skipData = async () => {
        if (size + pad(size) > 0) await reader.pipe(size + pad(size), async () => undefined);
      };
      if (type === '5') {
        await skipData();
        if (path) await writer.add({ kind: 'dir', path });
      } else if (type === '0' || type === '\0' || type === '7') {
        if (!path) refuse('a file entry has no name');
        let written = false;
        await writer.add({
          kind: 'file',
          path,
          size,
          executable: (mode & 0o111) !== 0,
          write: async (fh) => {
            let at = 0;
            await reader.pipe(size, async (piece) => {
              await fh.write(piece, 0, piece.length, at);
              at += piece.length;
            });
            written = true;
          },
        });
        if (!written) await reader.pipe(size, async () => undefined);
        if (pad(size)) await reader.pipe(pad(size), async () => undefined);
      } else if (type === '2') {
        await skipData();
        if (!path) refuse('a link entry has no name');
        await writer.add({ kind: 'link', path, target: linkName });
      } else if (type === '1') {
        refuse(`it holds a hard link (${rawName.slice(0, 80)})`);
      } else {
        refuse(`it holds a special file (${rawName.slice(0, 80)}, tar type ${JSON.stringify(type)})`);
      }
    }
  } finally {
    gunzip.destroy();
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: true }, (err, zip) =>
      err ? reject(new RuntimeError('archive', `it is not a readable zip file (${err.message})`)) : resolve(zip),
    ),
  );
}

async function unpackZip(file: string, writer: Writer): Promise<void> {
  const zip = await openZip(file);
  const stream = (entry: yauzl.Entry) =>
    new Promise<NodeJS.ReadableStream>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(new RuntimeError('archive', `${entry.fileName}: ${err.message}`)) : resolve(s))));
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (err: Error) => reject(err instanceof RuntimeError ? err : new RuntimeError('archive', `it is an unsafe or damaged zip file (${err.message})`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
          const type = unixMode & 0o170000;
          const path = safeEntryPath(entry.fileName);
          if (entry.fileName.endsWith('/')) {
            if (path) await writer.add({ kind: 'dir', path });
          } else if (!path) {
            refuse('a file entry has no name');
          } else if (type === 0o120000) {
            if (entry.uncompressedSize > MAX_NAME) refuse(`the link ${path} is ${entry.uncompressedSize} bytes`);
            const chunks: Buffer[] = [];
            for await (const c of await stream(entry)) chunks.push(c as Buffer);
            await writer.add({ kind: 'link', path, target: Buffer.concat(chunks).toString('utf8') });
          } else if (type !== 0 && type !== 0o100000) {
            refuse(`it holds a special file (${path})`);
          } else {
            await writer.add({
              kind: 'file',
              path,
              size: entry.uncompressedSize,
              // Windows zips carry no Unix mode: nothing there needs the bit.
              executable: (unixMode & 0o111) !== 0,
              write: async (fh) => {
                let at = 0;
                for await (const c of await stream(entry)) {
                  const piece = c as Buffer;
                  await fh.write(piece, 0, piece.length, at);
                  at += piece.length;
                }
              },
            });
          }
          zip.readEntry();
        })().catch((err: unknown) => {
          zip.close();
          reject(err instanceof RuntimeError ? err : new RuntimeError('archive', `it could not be unpacked (${errorMessage(err)})`));
        });
      });
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
}

/**
 * Unpacks `file` (by its name: .zip, .tar.br, else .tar.gz) into `dest`, which must not exist. An archive
 * holding one folder (llama-b<N>/ in the Linux and macOS assets) is unpacked without it, so the
 * executable lies at `dest/llama-server` either way.
 */
export async function unpackArchive(file: string, dest: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const { maxBytes = 4 * 2 ** 30, maxEntries = 20_000, keep = () => true } = options;
  // Unique: two windows may unpack the same runtime at once; the first rename wins.
  const staging = `${dest}.unpacking-${process.pid}-${randomBytes(4).toString('hex')}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const writer = new Writer(staging, maxBytes, maxEntries, keep);
  try {
    // The tar stream counts headers and padding too: allow them on top of the content limit.
    if (file.endsWith('.zip')) await unpackZip(file, writer);
    else await unpackTar(file, writer, maxBytes + maxEntries * 1024 + 2 ** 20);
    const top = await readdir(staging, { withFileTypes: true });
    const single = top.length === 1 && top[0]!.isDirectory() ? join(staging, top[0]!.name) : null;
    await rename(single ?? staging, dest);
    if (single) await rm(staging, { recursive: true, force: true });
    return writer.result;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (err instanceof RuntimeError) throw new RuntimeError('archive', `${posix.basename(file.replace(/\\/g, '/'))} was not unpacked: ${err.message}.`);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (/^(Z_|ERR__|ERR_BROTLI)/.test(code)) {
      throw new RuntimeError('archive', `${posix.basename(file)} was not unpacked: it is not a ${file.endsWith('.br') ? 'brotli' : 'gzip'} file, or it is corrupt.`);
    }
    throw err;
  }
}
