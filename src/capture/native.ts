// node-screenshots, loaded on first use (never at activation): a native library that the
// extension host needs only when the user captures, shipped per platform in dist/node_modules.
import type * as NodeScreenshots from 'node-screenshots';
import { displayKind, isPermissionFailure } from './display';
import { CaptureError, permissionDenied } from './errors';
import { waylandError } from './wayland';
import { errorMessage } from '../util/errorMessage';

export type NativeImage = NodeScreenshots.Image;
export type NativeMonitor = NodeScreenshots.Monitor;
let runtime: typeof NodeScreenshots | undefined;

export function nodeScreenshots(): typeof NodeScreenshots {
  if (!runtime) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      runtime = require('node-screenshots') as typeof NodeScreenshots;
    } catch (err) {
      throw new CaptureError(
        `Screen capture is not available on ${process.platform}-${process.arch}: its native runtime (node-screenshots) did not load: ${errorMessage(err)}`,
        'unavailable',
      );
    }
  }
  return runtime;
}

/** Runs a native call, turning its failure into a CaptureError that says what to do. */
export async function native<T>(what: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CaptureError) throw err;
    const message = errorMessage(err);
    if (process.platform === 'darwin' && isPermissionFailure(message)) throw permissionDenied();
    if (displayKind() === 'wayland') throw waylandError(message);
    if (/_NET_CLIENT_LIST/.test(message)) {
      throw new CaptureError(
        'Listing windows needs a window manager (one that supports EWMH, _NET_CLIENT_LIST_STACKING), and none is running on this display.',
        'unavailable',
      );
    }
    throw new CaptureError(`Could not ${what}: ${message}`, 'failed');
  }
}

/** A property of a window or monitor that some systems do not report (xlogo has no _NET_WM_PID). */
export function optional<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
