// Is there a screen to capture from this process? Checked before the native library is asked,
// so that "no display" reads as that and not as an X protocol error.
import { CaptureError } from './errors';

export type DisplayKind = 'x11' | 'wayland' | 'native';

/** What needed the display: the words of the "no display" error differ. */
export type DisplayUse = 'capture' | 'clipboard';

export function displayKind(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, use: DisplayUse = 'capture'): DisplayKind {
  if (platform === 'darwin' || platform === 'win32') return 'native';
  if (env.DISPLAY) return 'x11';
  if (env.WAYLAND_DISPLAY) return 'wayland';
  throw new CaptureError(
    use === 'clipboard'
      ? 'There is no clipboard to paste from: DISPLAY is not set, so VS Code\'s extension host (e.g. over SSH or in a container) has no graphical session whose clipboard it could read. ' +
          'Attach the image instead: drop the file into the chat, or use Attach images… next to the question box.'
      : 'There is no display to capture: DISPLAY is not set. VS Code (or its extension host, e.g. over SSH or in a container) runs without a graphical session. ' +
          'Run VS Code on the desktop you want to capture, or point DISPLAY at an X server.',
    'no-display',
  );
}

/** Error text from the native library that means the OS refused (macOS Screen Recording). */
export function isPermissionFailure(message: string): boolean {
  return /permission|not (authori[sz]ed|permitted)|denied|TCC/i.test(message);
}
