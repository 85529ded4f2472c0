// Reads a VSIX (a zip) without unpacking it: its entries from the central directory, any entry's
// bytes, and which platform a native binary (ELF, Mach-O, PE) was built for.
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/**
 * Entries of the zip at `file`: name, uncompressed and compressed size, Unix mode (0 when none),
 * and read() → bytes.
 * (VSIX files are well under 4 GiB, so no ZIP64.)
 */
export function readVsix(file) {
  const zip = readFileSync(file);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${n}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    // Unix permissions sit in the high half of the external attributes (zip made on Unix).
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    entries.push({
      name,
      size,
      compressedSize,
      mode,
      read() {
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const raw = zip.subarray(start, start + compressedSize);
        if (method === 0) return raw;
        if (method === 8) return inflateRawSync(raw);
        throw new Error(`${name}: unsupported compression method ${method}`);
      },
    });
  }
  return entries;
}

/**
 * The platform a native binary was built for, as a VSIX target (`linux-x64`, `darwin-arm64`,
 * `win32-x64`, …; `darwin-universal` for a fat Mach-O), or null when `bytes` is not one.
 */
export function nativeBinaryTarget(bytes) {
  if (bytes.length < 64) return null;
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes.readUInt16LE(18);
    return `linux-${{ 0x3e: 'x64', 0xb7: 'arm64', 0x28: 'arm', 0x03: 'ia32' }[machine] ?? `machine-${machine}`}`;
  }
  const magic = bytes.readUInt32LE(0);
  if (magic === 0xfeedfacf || magic === 0xfeedface) {
    const cpu = bytes.readUInt32LE(4);
    return `darwin-${{ 0x01000007: 'x64', 0x0100000c: 'arm64' }[cpu] ?? `cpu-${cpu}`}`;
  }
  if (bytes.readUInt32BE(0) === 0xcafebabe && bytes.readUInt32BE(4) < 20) return 'darwin-universal';
  if (bytes.readUInt16LE(0) === 0x5a4d) {
    const pe = bytes.readUInt32LE(0x3c);
    if (pe + 6 <= bytes.length && bytes.readUInt32LE(pe) === 0x00004550) {
      const machine = bytes.readUInt16LE(pe + 4);
      return `win32-${{ 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' }[machine] ?? `machine-${machine}`}`;
    }
  }
  return null;
}
