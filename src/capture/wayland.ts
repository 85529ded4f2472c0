// Wayland sessions without X: the desktop's own screenshot tools, when X capture is impossible.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Capture, captureName, checkCapturedImage } from './capture';
import { CaptureError } from './errors';

/** Tools that write the whole screen to a PNG file, tried in order (wlroots, GNOME, KDE). */
const TOOLS: { file: string; args: (out: string) => string[] }[] = [
  { file: 'grim', args: (out) => [out] },
  { file: 'gnome-screenshot', args: (out) => ['-f', out] },
  { file: 'spectacle', args: (out) => ['-b', '-n', '-f', '-o', out] },
];

function run(file: string, args: string[]): Promise<'missing' | 'ok' | string> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 15_000, windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) resolve('ok');
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve('missing');
      else resolve(String(stderr).trim() || err.message);
    });
  });
}

export function waylandError(detail: string): CaptureError {
  return new CaptureError(
    `This is a Wayland session without X (DISPLAY is not set), where X screen capture does not work (${detail}). ` +
      `Install grim (wlroots desktops), gnome-screenshot or spectacle for Capture Screen, or start VS Code with XWayland (DISPLAY set).`,
    'wayland',
  );
}

/** Captures the screen with the first desktop tool found; else throws `nativeFailure` (or why the tools failed). */
export async function captureWithDesktopTool(nativeFailure: CaptureError): Promise<Capture> {
  const dir = await mkdtemp(join(tmpdir(), 'internvl-lens-wayland-'));
  const out = join(dir, 'screen.png');
  const failures: string[] = [];
  try {
    for (const tool of TOOLS) {
      const r = await run(tool.file, tool.args(out));
      if (r === 'missing') continue;
      if (r !== 'ok') {
        failures.push(`${tool.file}: ${r}`);
        continue;
      }
      const bytes = await readFile(out);
      const info = checkCapturedImage(bytes, `The ${tool.file} screenshot`);
      return { bytes, name: captureName('screen'), width: info.width, height: info.height, scaleFactor: 1 };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  throw failures.length ? waylandError(failures.join('; ')) : nativeFailure;
}
