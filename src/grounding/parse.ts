import { INTERNVL_BOX_SCALE, type Region } from './region';

/** A piece of model output, for display: plain text, a referred phrase, or a box list. */
export type AnswerSegment =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; text: string; regions: number[] }
  | { kind: 'boxes'; text: string; regions: number[] };

// `<ref>phrase</ref>` optionally followed by `<box>[[…]]</box>`; or a bare `[[…]]` list that
// servers leave behind when they strip special tokens. Only complete lists match, so text cut
// mid-box while streaming yields no box until the rest arrives.
const REGION_PATTERN =
  /<ref>([\s\S]*?)<\/ref>(\s*<box>\s*(\[\s*\[[^\]<>]*\](?:\s*,\s*\[[^\]<>]*\])*\s*\])\s*<\/box>)?|(<box>)?\s*(\[\s*\[[^\]<>]*\](?:\s*,\s*\[[^\]<>]*\])*\s*\])\s*(<\/box>)?/g;

function parseBoxList(list: string, label: string | null, debug: (msg: string) => void): Region[] {
  const regions: Region[] = [];
  for (const inner of list.matchAll(/\[([^\[\]]*)\]/g)) {
    const values = (inner[1] ?? '').split(',').map((s) => Number(s.trim()));
    if (values.length !== 4 || values.some((n) => !Number.isFinite(n))) {
      debug(`dropped box ${inner[0]}: expected 4 numbers`);
      continue;
    }
    let [x1, y1, x2, y2] = values as [number, number, number, number];
    if (values.some((n) => n < 0 || n > INTERNVL_BOX_SCALE)) {
      debug(`dropped box ${inner[0]}: values outside 0..${INTERNVL_BOX_SCALE}`);
      continue;
    }
    // Swapped corners are unambiguous: the box is the same rectangle.
    if (x2 < x1) [x1, x2] = [x2, x1];
    if (y2 < y1) [y1, y2] = [y2, y1];
    if (x1 === x2 || y1 === y2) {
      debug(`dropped box ${inner[0]}: zero area`);
      continue;
    }
    const s = INTERNVL_BOX_SCALE;
    regions.push({ kind: 'box', label, box: [x1 / s, y1 / s, x2 / s, y2 / s] });
  }
  return regions;
}

/**
 * Splits model output into display segments and the regions they name. Never throws; malformed
 * boxes are dropped (or repaired when the intent is unambiguous) and reported through `debug`.
 */
export function parseAnswer(text: string, debug: (msg: string) => void = () => undefined): {
  segments: AnswerSegment[];
  regions: Region[];
} {
  const segments: AnswerSegment[] = [];
  const regions: Region[] = [];
  let last = 0;
  const pushText = (t: string) => {
    if (t) segments.push({ kind: 'text', text: t });
  };
  for (const m of text.matchAll(REGION_PATTERN)) {
    pushText(text.slice(last, m.index));
    last = m.index + m[0].length;
    const isRef = m[1] !== undefined;
    const label = isRef ? (m[1] ?? '').trim() || null : null;
    const list = isRef ? m[3] : m[5];
    const found = list ? parseBoxList(list, label, debug) : [];
    const indexes = found.map((_, i) => regions.length + i);
    regions.push(...found);
    if (isRef) {
      segments.push({ kind: 'ref', text: label ?? '', regions: indexes });
    } else {
      segments.push({ kind: 'boxes', text: m[0], regions: indexes });
    }
  }
  pushText(text.slice(last));
  return { segments, regions };
}

export function parseRegions(text: string, debug?: (msg: string) => void): Region[] {
  return parseAnswer(text, debug).regions;
}
