// A clip's frames as the chat shows them (the frame strip): shared by the host and the webview.

/** A time in a clip as the strip labels it: `0:04.2`, `1:02:03.0` past an hour. */
export function clipTime(seconds: number): string {
  const s = Math.max(0, seconds);
  const tenths = Math.floor(s * 10 + 1e-6);
  const whole = Math.floor(tenths / 10);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = String(whole % 60).padStart(2, '0');
  return `${h > 0 ? `${h}:${String(m).padStart(2, '0')}` : m}:${sec}.${tenths % 10}`;
}
