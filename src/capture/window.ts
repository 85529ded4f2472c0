// Capture Window: the open windows (title + app name) and one window's pixels.
import { type Capture, captureName } from './capture';
import { displayKind } from './display';
import { CaptureError } from './errors';
import { native, nodeScreenshots, optional } from './native';
import { encodeGrab } from './screen';

export interface WindowInfo {
  id: number;
  title: string;
  appName: string;
  /** Position of the window's content on the desktop, as the OS reports it. */
  x: number;
  y: number;
  width: number;
  height: number;
  scaleFactor: number;
}

function windows() {
  displayKind();
  return nodeScreenshots().Window.all();
}

/** Windows that can be captured: not minimised and not empty, front-most first. */
export async function listWindows(): Promise<WindowInfo[]> {
  const all = await native('list the windows', windows);
  return all
    .filter((w) => !optional(() => w.isMinimized(), false) && w.width() > 0 && w.height() > 0)
    .map((w) => ({
      id: w.id(),
      title: optional(() => w.title(), ''),
      appName: optional(() => w.appName(), ''),
      x: w.x(),
      y: w.y(),
      width: w.width(),
      height: w.height(),
      scaleFactor: optional(() => w.currentMonitor().scaleFactor(), 1) || 1,
    }));
}

export async function captureWindow(id: number): Promise<Capture> {
  const all = await native('list the windows', windows);
  const target = all.find((w) => w.id() === id);
  if (!target) throw new CaptureError('That window has closed.', 'no-window');
  const image = await native('capture the window', () => target.captureImage());
  if (image.width === 0 || image.height === 0) throw new CaptureError('The window capture came back empty (0 pixels).', 'failed');
  const scaleFactor = optional(() => target.currentMonitor().scaleFactor(), 1) || 1;
  return { ...(await encodeGrab(image)), name: captureName('window'), width: image.width, height: image.height, scaleFactor };
}

/** The front-most window whose title or app name contains `part` (any case); undefined when none does. */
export function findWindow(windows: readonly WindowInfo[], part: string): WindowInfo | undefined {
  const p = part.toLowerCase();
  return windows.find((w) => `${w.title}\n${w.appName}`.toLowerCase().includes(p));
}
