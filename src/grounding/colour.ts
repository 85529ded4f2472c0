// A distinct, stable colour per region label, shared by the overlay and the exported PNG.

/** `#rrggbb` for `label`: hues spread by the golden angle over a hash of the label. */
export function labelColour(label: string | null): string {
  let h = 0;
  for (const ch of label ?? '') h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const hue = (h * 137.508) % 360;
  // HSL(hue, 85%, 55%) → RGB.
  const s = 0.85;
  const l = 0.55;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
