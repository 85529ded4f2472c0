// Is there a screen to capture from this process? Checked before the native library is asked,
// so that "no display" reads as that and not as an X protocol error.
import { CaptureError } from './errors';

export type DisplayKind = 'x11' | 'wayland' | 'native';

export function displayKind(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): DisplayKind {
  if (platform === 'darwin' || platform === 'win32') return 'native';
  if (env.DISPLAY) return 'x11';
  if (env.WAYLAND_DISPLAY) return 'wayland';
  throw new CaptureError(
    'There is no display to capture: DISPLAY is not set. VS Code (or its extension host, e.g. over SSH or in a container) runs without a graphical session. ' +
      'Run VS Code on the desktop you want to capture, or point DISPLAY at an X server.',
    'no-display',
  );
}

/** Error text from the native library that means the OS refused (macOS Screen Recording). */
export function isPermissionFailure(message: string): boolean {
  return /permission|not (authori[sz]ed|permitted)|denied|TCC/i.test(message);
}
