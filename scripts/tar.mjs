// Writes ustar archives byte by byte: deterministic (no owners, no times), the same on every
// platform that packages a VSIX. Names up to 100 bytes (llama.cpp's files are far shorter). The
// tests use it for hostile archives too, hence the options no archiver offers (lying sizes, any
// type, any name).

function field(buf, at, len, value) {
  buf.write(value.slice(0, len), at, len, 'utf8');
}

/**
 * One 512-byte header. `entry`: { name, type ('0' file, '2' symlink, '1' hard link, '5' folder,
 * 'x' pax, 'L' GNU long name, …), body, linkname, mode, claimedSize }.
 */
export function tarHeader(entry) {
  const h = Buffer.alloc(512);
  const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : (entry.body ?? Buffer.alloc(0));
  if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar name over 100 bytes: ${entry.name}`);
  field(h, 0, 100, entry.name);
  field(h, 100, 8, `${(entry.mode ?? 0o644).toString(8).padStart(7, '0')}\0`);
  field(h, 108, 8, '0000000\0');
  field(h, 116, 8, '0000000\0');
  field(h, 124, 12, `${(entry.claimedSize ?? body.length).toString(8).padStart(11, '0')}\0`);
  field(h, 136, 12, '00000000000\0');
  h.fill(0x20, 148, 156);
  field(h, 156, 1, entry.type ?? '0');
  field(h, 157, 100, entry.linkname ?? '');
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** An uncompressed tar stream of the entries (bodies padded to 512 bytes), with its end marker. */
export function tar(entries) {
  const parts = [];
  for (const e of entries) {
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    parts.push(tarHeader(e), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
