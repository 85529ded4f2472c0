// Why a capture failed, in words a user can act on. `problem` lets callers and tests tell the
// cases apart without matching on message text; `remedies` are the buttons that fix it.
import type { Remedy } from '../protocol/remedy';

export type CaptureProblem =
  | 'no-display'
  | 'wayland'
  | 'permission'
  | 'no-tool'
  | 'empty-clipboard'
  | 'no-window'
  | 'too-large'
  | 'unavailable'
  | 'failed';

export class CaptureError extends Error {
  override name = 'CaptureError';
  constructor(
    message: string,
    readonly problem: CaptureProblem,
    readonly remedies: Remedy[] = [],
  ) {
    super(message);
  }
}

/** Where macOS grants Screen Recording (System Settings → Privacy & Security → Screen Recording): the `openScreenRecordingSettings` remedy. */
export const MACOS_SCREEN_RECORDING_URL = 'x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture';

export function permissionDenied(): CaptureError {
  return new CaptureError(
    'macOS denied screen capture. Allow VS Code in System Settings → Privacy & Security → Screen Recording, then restart VS Code.',
    'permission',
    [{ kind: 'openScreenRecordingSettings' }],
  );
}
