// Why a capture failed, in words a user can act on. `problem` lets callers and tests tell the
// cases apart without matching on message text.

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

/** A link that fixes the problem (opened with vscode.env.openExternal). */
export interface CaptureHelp {
  label: string;
  url: string;
}

export class CaptureError extends Error {
  override name = 'CaptureError';
  constructor(
    message: string,
    readonly problem: CaptureProblem,
    readonly help?: CaptureHelp,
  ) {
    super(message);
  }
}

/** Where macOS grants Screen Recording (System Settings → Privacy & Security → Screen Recording). */
export const MACOS_SCREEN_RECORDING: CaptureHelp = {
  label: 'Open Screen Recording Settings',
  url: 'x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture',
};

export function permissionDenied(): CaptureError {
  return new CaptureError(
    'macOS denied screen capture. Allow VS Code in System Settings → Privacy & Security → Screen Recording, then restart VS Code.',
    'permission',
    MACOS_SCREEN_RECORDING,
  );
}
