// Writes regions in InternVL's own markup, so that what we show, store or hand to another tool
// reads back to the same regions: parseRegions(serialiseRegions(r)) deep-equals r for boxes on
// the model's 0..1000 grid, quads on it, and any 0..1 point.
import { INTERNVL_BOX_SCALE, type Region } from './region';

/** A label as the parser will read it back: no markup or brackets, trimmed; empty means none. */
export function representableLabel(label: string | null): string | null {
  const clean = (label ?? '').replace(/[<>\[\]]/g, ' ').replace(/pyautogui\./g, 'pyautogui ').trim();
  return clean || null;
}

export function serialiseRegions(regions: readonly Region[]): string {
  const lines: string[] = [];
  let i = 0;
  while (i < regions.length) {
    const r = regions[i]!;
    const label = representableLabel(r.label);
    const ref = label ? `<ref>${label}</ref>` : '';
    if (r.kind === 'point') {
      lines.push(`${ref}pyautogui.click(x=${r.point[0]}, y=${r.point[1]})`);
      i++;
      continue;
    }
    if (r.kind === 'quad') {
      lines.push(`${ref}<quad>[[${r.quad.map((v) => Math.round(v * INTERNVL_BOX_SCALE)).join(', ')}]]</quad>`);
      i++;
      continue;
    }
    // Boxes of one phrase share one <box>, as InternVL writes them.
    const boxes: string[] = [];
    while (i < regions.length) {
      const next = regions[i]!;
      if (next.kind !== 'box' || representableLabel(next.label) !== label || (boxes.length > 0 && !label)) break;
      boxes.push(`[${next.box.map((v) => Math.round(v * INTERNVL_BOX_SCALE)).join(', ')}]`);
      i++;
    }
    lines.push(`${ref}<box>[${boxes.join(', ')}]</box>`);
  }
  return lines.join('\n');
}
