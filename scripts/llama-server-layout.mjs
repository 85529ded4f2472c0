// What a VSIX carries of llama.cpp, under dist/llama.cpp/: llama-server and exactly the shared
// libraries it loads, each as a plain file under the name the loader asks for (a VSIX cannot hold
// symbolic links, and copying libllama.so, libllama.so.0 and libllama.so.0.4.0 would triple it),
// plus the backends llama.cpp loads at run time (GGML_BACKEND_DL: libggml-cpu-haswell.so, …) and
// llama.cpp's licence — packed into one brotli-compressed tar (llama.cpp.tar.br, described by
// bundle.json) because a zip compresses each file alone: the 13 CPU variants, mostly the same
// bytes, cost 5.5 MiB as separate zip entries and well under half that packed solid. The extension
// unpacks it once into its global storage (src/engine/local/runtimes/choose.ts). The same readers
// let the VSIX test check that nothing the executable needs is missing.
//   ELF (Linux): DT_NEEDED, DT_SONAME, DT_RUNPATH/DT_RPATH of 64-bit little-endian files.
//   Mach-O (macOS): LC_LOAD_DYLIB/LC_LOAD_WEAK_DYLIB/LC_REEXPORT_DYLIB, LC_ID_DYLIB, LC_RPATH.
//   PE (Windows): the import and delay-import tables of PE32+ files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { tar } from './tar.mjs';


/** Shared libraries every Linux desktop has: the C and C++ runtimes. Anything else must ship. */
export const LINUX_SYSTEM_LIBRARIES = ['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1'];

function cString(bytes, at) {
  const end = bytes.indexOf(0, at);
  return bytes.toString('utf8', at, end < 0 ? bytes.length : end);
}

/** { needed, soname, runpath } of a 64-bit little-endian ELF file, or null when `bytes` is not one. */
export function readElfDynamic(bytes) {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) return null;
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error('only 64-bit little-endian ELF files are read');
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const section = (i) => {
    const at = shoff + i * shentsize;
    return { type: bytes.readUInt32LE(at + 4), offset: Number(bytes.readBigUInt64LE(at + 0x18)), size: Number(bytes.readBigUInt64LE(at + 0x20)), link: bytes.readUInt32LE(at + 0x28) };
  };
  const out = { needed: [], soname: null, runpath: null };
  for (let i = 0; i < shnum; i++) {
    const dyn = section(i);
    if (dyn.type !== 6) continue; // SHT_DYNAMIC
    const strtab = section(dyn.link);
    for (let at = dyn.offset; at + 16 <= dyn.offset + dyn.size; at += 16) {
      const tag = Number(bytes.readBigInt64LE(at));
      if (tag === 0) break;
      const value = Number(bytes.readBigUInt64LE(at + 8));
      if (tag === 1) out.needed.push(cString(bytes, strtab.offset + value));
      else if (tag === 14) out.soname = cString(bytes, strtab.offset + value);
      else if (tag === 15 || tag === 29) out.runpath = cString(bytes, strtab.offset + value);
    }
  }
  return out;
}

/** { loads, id, rpaths } of a Mach-O file (the first slice of a fat one), or null when `bytes` is not one. */
export function readMachODylibs(bytes) {
  if (bytes.length < 32) return null;
  if (bytes.readUInt32BE(0) === 0xcafebabe && bytes.readUInt32BE(4) < 20) return readMachODylibs(bytes.subarray(bytes.readUInt32BE(16), bytes.readUInt32BE(16) + bytes.readUInt32BE(20)));
  const magic = bytes.readUInt32LE(0);
  if (magic !== 0xfeedfacf && magic !== 0xfeedface) return null;
  const ncmds = bytes.readUInt32LE(16);
  let at = magic === 0xfeedfacf ? 32 : 28;
  const out = { loads: [], id: null, rpaths: [] };
  for (let i = 0; i < ncmds && at + 8 <= bytes.length; i++) {
    const cmd = bytes.readUInt32LE(at);
    const size = bytes.readUInt32LE(at + 4);
    if (size < 8) throw new Error('a Mach-O load command is shorter than its header');
    const str = () => cString(bytes, at + bytes.readUInt32LE(at + 8));
    if (cmd === 0xc || cmd === 0x80000018 || cmd === 0x8000001f) out.loads.push(str());
    else if (cmd === 0xd) out.id = str();
    else if (cmd === 0x8000001c) out.rpaths.push(str());
    at += size;
  }
  return out;
}

/** DLL names a PE32+ file imports (import and delay-import tables), or null when `bytes` is not one. */
export function readPeImports(bytes) {
  if (bytes.length < 0x40 || bytes.readUInt16LE(0) !== 0x5a4d) return null;
  const pe = bytes.readUInt32LE(0x3c);
  if (pe + 24 > bytes.length || bytes.readUInt32LE(pe) !== 0x00004550) return null;
  const sections = bytes.readUInt16LE(pe + 6);
  const optional = pe + 24;
  const optionalSize = bytes.readUInt16LE(pe + 20);
  if (bytes.readUInt16LE(optional) !== 0x20b) throw new Error('only PE32+ (64-bit) files are read');
  const table = optional + optionalSize;
  const offsetOf = (rva) => {
    for (let i = 0; i < sections; i++) {
      const at = table + i * 40;
      const va = bytes.readUInt32LE(at + 12);
      const size = Math.max(bytes.readUInt32LE(at + 8), bytes.readUInt32LE(at + 16));
      if (rva >= va && rva < va + size) return rva - va + bytes.readUInt32LE(at + 20);
    }
    return -1;
  };
  const names = [];
  // Data directories 1 (imports: 20-byte descriptors, name at +12) and 13 (delay imports: 32 bytes, name at +4).
  for (const [dir, size, nameAt] of [[1, 20, 12], [13, 32, 4]]) {
    const rva = bytes.readUInt32LE(optional + 112 + dir * 8);
    let at = rva ? offsetOf(rva) : -1;
    for (; at >= 0 && at + size <= bytes.length; at += size) {
      const nameRva = bytes.readUInt32LE(at + nameAt);
      if (nameRva === 0) break;
      const nameOffset = offsetOf(nameRva);
      if (nameOffset >= 0) names.push(cString(bytes, nameOffset));
    }
  }
  return names;
}

/** Names a binary asks the loader for, as file names (Mach-O's @rpath/libllama.0.dylib → libllama.0.dylib). */
export function neededNames(bytes) {
  const elf = readElfDynamic(bytes);
  if (elf) return elf.needed;
  const pe = readPeImports(bytes);
  if (pe) return pe;
  const macho = readMachODylibs(bytes);
  if (macho) return macho.loads.filter((l) => l.startsWith('@rpath/') || l.startsWith('@loader_path/') || l.startsWith('@executable_path/')).map((l) => l.slice(l.lastIndexOf('/') + 1));
  return [];
}

/** Backends llama.cpp loads itself at run time (GGML_BACKEND_DL): plain files named libggml-<backend>.so/.dylib. */
function isBackendModule(dir, name) {
  // The release builds add the RPC backend (GGML_RPC=ON): remote devices, which Lens never uses.
  return /^(lib)?ggml-[\w.-]+\.(so|dylib|dll)$/i.test(name) && lstatSync(join(dir, name)).isFile() && !/^(lib)?ggml-(base|rpc)\./i.test(name);
}

/**
 * Where this machine's loader finds a library (`ldconfig -p`): for the few a build made here needs
 * beyond the C and C++ runtimes (OpenMP's libgomp.so.1), which not every desktop has installed.
 * The GCC runtime library exception allows shipping libgomp with the program that uses it.
 */
function systemLibrary(name) {
  // ldconfig lives in /sbin, which a user's (or a bare CI job's) PATH may not hold.
  const r = ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig'].map((cmd) => spawnSync(cmd, ['-p'], { encoding: 'utf8' })).find((x) => x.status === 0) ?? { stdout: '' };
  const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : process.arch;
  const line = (r.stdout ?? '').split('\n').find((l) => l.trim().startsWith(`${name} (`) && l.includes(arch));
  return line ? line.slice(line.indexOf('=>') + 2).trim() : null;
}

/** Strips symbol tables (not needed to run) when binutils' strip can read the file; returns whether it did. */
function strip(file) {
  const r = spawnSync('strip', ['--strip-unneeded', file], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Copies `executable` (llama-server, or llama-server.exe for a win32 target) and what it loads
 * from `binDir` (a build's bin/ or an unpacked release) into `dest` (emptied first). `licence` is
 * llama.cpp's LICENSE file when the folder has none. Returns the files written and the system
 * libraries they expect the machine to have.
 */
export function layoutLlamaServer(binDir, dest, target, { executable, licence = null, stripSymbols = true }) {
  const exe = executable;
  if (!existsSync(join(binDir, exe))) throw new Error(`${binDir} holds no ${exe}`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const names = readdirSync(binDir);
  const wanted = new Set([exe]);
  for (const n of names) if (isBackendModule(binDir, n)) wanted.add(n);
  // The loader's names, followed through the libraries themselves (Windows matches them without case).
  const windows = target.startsWith('win32-');
  const present = (dep) => names.find((n) => (windows ? n.toLowerCase() === dep.toLowerCase() : n === dep));
  const queue = [...wanted];
  while (queue.length) {
    const name = queue.shift();
    for (const dep of neededNames(readFileSync(join(binDir, name)))) {
      const file = present(dep);
      if (file && !wanted.has(file)) {
        wanted.add(file);
        queue.push(file);
      }
    }
  }
  const builtHere = target === `${process.platform}-${process.arch}` && process.platform === 'linux';
  const from = new Map([...wanted].map((n) => [n, join(binDir, n)]));
  if (builtHere) {
    const queue = [...wanted];
    while (queue.length) {
      for (const dep of neededNames(readFileSync(from.get(queue.shift())))) {
        if (from.has(dep) || LINUX_SYSTEM_LIBRARIES.includes(dep)) continue;
        const found = systemLibrary(dep);
        if (!found) continue;
        from.set(dep, found);
        queue.push(dep);
      }
    }
  }
  const system = new Set();
  const files = [];
  const canStrip = stripSymbols && builtHere;
  for (const [name, source] of [...from].sort(([a], [b]) => a.localeCompare(b))) {
    const to = join(dest, name);
    copyFileSync(realpathSync(source), to);
    chmodSync(to, /\.(so|dylib|dll)(\.|$)/.test(name) && name !== exe ? 0o644 : 0o755);
    if (canStrip) strip(to);
    for (const dep of neededNames(readFileSync(to))) if (!from.has(dep) && !(windows && [...from.keys()].some((k) => k.toLowerCase() === dep.toLowerCase()))) system.add(dep);
    files.push({ name, bytes: statSync(to).size });
  }
  const licenceFile = names.find((n) => /^LICENSE/.test(n)) ? join(binDir, names.find((n) => /^LICENSE/.test(n))) : licence;
  if (licenceFile && existsSync(licenceFile)) {
    copyFileSync(licenceFile, join(dest, 'LICENSE'));
    files.push({ name: 'LICENSE', bytes: statSync(licenceFile).size });
  }
  return { files, system: [...system].sort() };
}

/**
 * Packs the flat folder `dir` (what layoutLlamaServer wrote) into `dest`/`names.blob` and its
 * description `dest`/`names.manifest` (the names src/engine/local/runtimes/bundled.ts reads). Brotli quality 11 with a 16 MiB window finds the CPU variants' shared bytes; it
 * takes minutes, so the result is cached in `cacheDir` by the tar's hash (a lower `quality` is
 * for test builds, repackaged often). Returns the manifest.
 */
export function packLlamaServer(dir, dest, { names: fileNames, executable, release, build, quality = 11, cacheDir }) {
  const names = readdirSync(dir).sort();
  const files = names.map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
  const entries = names.map((name) => ({ name, body: readFileSync(join(dir, name)), mode: statSync(join(dir, name)).mode & 0o111 ? 0o755 : 0o644 }));
  const tarBytes = tar(entries);
  const key = createHash('sha256').update(tarBytes).update(`q${quality}`).digest('hex').slice(0, 24);
  const cached = cacheDir ? join(cacheDir, 'blobs', `${key}.tar.br`) : null;
  let blob;
  if (cached && existsSync(cached)) blob = readFileSync(cached);
  else {
    blob = brotliCompressSync(tarBytes, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: quality, [zlib.BROTLI_PARAM_LGWIN]: 24, [zlib.BROTLI_PARAM_SIZE_HINT]: tarBytes.length },
    });
    if (cached) {
      mkdirSync(join(cacheDir, 'blobs'), { recursive: true });
      writeFileSync(cached, blob);
    }
  }
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  writeFileSync(join(dest, fileNames.blob), blob);
  const manifest = {
    version: 1,
    release,
    build,
    executable,
    sha256: createHash('sha256').update(blob).digest('hex'),
    packedBytes: blob.length,
    unpackedBytes: files.reduce((n, f) => n + f.bytes, 0),
    files,
  };
  writeFileSync(join(dest, fileNames.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
