// Paste Image from Clipboard: VS Code's clipboard API is text-only, so the image is read with
// the platform's own tools (xclip / wl-paste, osascript, PowerShell) in a child process.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Capture, captureName, checkCapturedImage, MAX_CAPTURE_PIXELS } from './capture';
import { displayKind } from './display';
import { CaptureError } from './errors';
import { formatOfMime, IMAGE_FORMAT_INFO, IMAGE_FORMATS, storedExtension } from '../images/formats';

/** Image types asked for in order of preference (those AttachmentStore accepts). */
const IMAGE_TYPES = IMAGE_FORMATS.map((f) => IMAGE_FORMAT_INFO[f].mime);
const TIMEOUT_MS = 10_000;
// Room for a 50-megapixel image even uncompressed (BMP).
const MAX_BYTES = MAX_CAPTURE_PIXELS * 4 + 1024 * 1024;

interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

class MissingTool extends Error {}

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'buffer', maxBuffer: MAX_BYTES, timeout: TIMEOUT_MS, env: { ...process.env, ...env }, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
      if (e && e.code === 'ENOENT') return reject(new MissingTool(file));
      if (e && e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
        return reject(new CaptureError(`The clipboard image is larger than ${(MAX_BYTES / 1024 / 1024).toFixed(0)} MB; it was not read.`, 'too-large'));
      }
      if (e && e.killed) return reject(new CaptureError(`${file} did not answer within ${TIMEOUT_MS / 1000} s while reading the clipboard.`, 'failed'));
      resolve({ code: typeof e?.code === 'number' ? e.code : e ? 1 : 0, stdout, stderr: stderr.toString('utf8').trim() });
    });
  });
}

const emptyClipboard = () => new CaptureError('The clipboard holds no image. Copy an image (or take a screenshot to the clipboard) and try again.', 'empty-clipboard');

/** Picks the best image type from a list of clipboard targets / MIME types, one per line. */
export function pickImageType(targets: string): string | undefined {
  const offered = new Set(targets.split(/\r?\n/).map((t) => t.trim().toLowerCase()));
  return IMAGE_TYPES.find((t) => offered.has(t));
}

async function readX11(): Promise<{ bytes: Buffer; type: string }> {
  const targets = await run('xclip', ['-selection', 'clipboard', '-t', 'TARGETS', '-o']);
  // xclip exits 1 with "target TARGETS not available" when nothing owns the clipboard.
  const type = targets.code === 0 ? pickImageType(targets.stdout.toString('utf8')) : undefined;
  if (!type) throw emptyClipboard();
  const data = await run('xclip', ['-selection', 'clipboard', '-t', type, '-o']);
  if (data.code !== 0) throw new CaptureError(`xclip could not read the clipboard image: ${data.stderr || `exit ${data.code}`}`, 'failed');
  return { bytes: data.stdout, type };
}

async function readWayland(): Promise<{ bytes: Buffer; type: string }> {
  const types = await run('wl-paste', ['--list-types']);
  const type = types.code === 0 ? pickImageType(types.stdout.toString('utf8')) : undefined;
  if (!type) throw emptyClipboard();
  const data = await run('wl-paste', ['--no-newline', '--type', type]);
  if (data.code !== 0) throw new CaptureError(`wl-paste could not read the clipboard image: ${data.stderr || `exit ${data.code}`}`, 'failed');
  return { bytes: data.stdout, type };
}

async function readLinux(): Promise<{ bytes: Buffer; type: string }> {
  const kind = displayKind(process.env, process.platform, 'clipboard');
  const tries = kind === 'wayland' ? [readWayland] : process.env.WAYLAND_DISPLAY ? [readWayland, readX11] : [readX11];
  for (const read of tries) {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof MissingTool)) throw err;
    }
  }
  throw new CaptureError(
    kind === 'wayland'
      ? 'Reading images from the clipboard needs wl-paste: install wl-clipboard (e.g. sudo apt install wl-clipboard).'
      : 'Reading images from the clipboard needs xclip: install it (e.g. sudo apt install xclip).',
    'no-tool',
  );
}

/** macOS and Windows write the image to a file named by an environment variable (no quoting issues). */
async function readToFile(file: string, args: string[], what: string): Promise<{ bytes: Buffer; type: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'internvl-lens-clip-'));
  const out = join(dir, 'clipboard.png');
  try {
    const r = await run(file, args, { LENS_CLIPBOARD_OUT: out });
    if (r.code === 3 || /NOIMAGE/.test(r.stdout.toString('utf8'))) throw emptyClipboard();
    if (r.code !== 0) throw new CaptureError(`${what} could not read the clipboard: ${r.stderr || `exit ${r.code}`}`, 'failed');
    return { bytes: await readFile(out), type: 'image/png' };
  } catch (err) {
    if (err instanceof MissingTool) throw new CaptureError(`Reading images from the clipboard needs ${what}, which was not found.`, 'no-tool');
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const MACOS_SCRIPT = [
  'try',
  'set png to (the clipboard as «class PNGf»)',
  'on error',
  'return "NOIMAGE"',
  'end try',
  'set f to open for access (POSIX file (system attribute "LENS_CLIPBOARD_OUT")) with write permission',
  'write png to f',
  'close access f',
  'return "OK"',
];

const WINDOWS_SCRIPT =
  'Add-Type -AssemblyName System.Windows.Forms; Add-Type -AssemblyName System.Drawing; ' +
  '$img = [System.Windows.Forms.Clipboard]::GetImage(); if ($img -eq $null) { exit 3 }; ' +
  '$img.Save($env:LENS_CLIPBOARD_OUT, [System.Drawing.Imaging.ImageFormat]::Png)';

export async function readClipboardImage(): Promise<Capture> {
  let read: { bytes: Buffer; type: string };
  if (process.platform === 'darwin') {
    read = await readToFile('osascript', MACOS_SCRIPT.flatMap((line) => ['-e', line]), 'osascript');
  } else if (process.platform === 'win32') {
    read = await readToFile('powershell.exe', ['-NoProfile', '-NonInteractive', '-STA', '-Command', WINDOWS_SCRIPT], 'PowerShell');
  } else {
    read = await readLinux();
  }
  const format = formatOfMime(read.type);
  const name = captureName('clipboard').replace(/png$/, format ? storedExtension(format) : 'png');
  const info = checkCapturedImage(read.bytes, `The clipboard image (${read.type})`);
  return { bytes: read.bytes, name, width: info.width, height: info.height, scaleFactor: 1 };
}
