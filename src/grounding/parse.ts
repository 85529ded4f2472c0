// Reads regions out of InternVL answers: tagged (`<ref>…</ref><box>[[…]]</box>`), tag-stripped
// (`Save[[…]]`, bare `[[…]]`), two-value points (`[[x, y]]`) and pyautogui actions
// (`pyautogui.click(x=0.23, y=0.38)`), in prose and markdown. Never throws; a region is only
// reported once its text is complete, and text that arrives later never changes it.
import { INTERNVL_BOX_SCALE, type Region } from './region';

/** A piece of model output, for display: plain text, the words naming regions, or their coordinates. */
export type AnswerSegment =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; text: string; regions: number[] }
  | { kind: 'coordinates'; text: string; regions: number[] };

export type GroundingDebug = (message: string) => void;

// Every token below is built so that no later text can make a token start earlier and swallow
// one already read: a phrase holds no brackets and no pyautogui call, a coordinate list holds
// only numbers, and a call's arguments hold no brackets or tags. That is what makes streaming safe.
const LIST = String.raw`\[\s*\[[\d\s.,+-]*\](?:\s*,\s*\[[\d\s.,+-]*\])*\s*\]`;
const CALL = String.raw`pyautogui\.([A-Za-z]+)\(([^()\[\]<>]*)\)`;
const PHRASE = String.raw`<ref>((?:(?!pyautogui\.)[^<>\[\]])*)</ref>`;
const TAG = String.raw`</?(?:ref|box|point|quad)>`;
const TOKEN = new RegExp(`${PHRASE}|(${TAG})|(${LIST})|${CALL}`, 'g');

/** pyautogui actions whose coordinates name a place on the screen. */
const POINTER_ACTIONS = new Set(['click', 'doubleClick', 'tripleClick', 'rightClick', 'middleClick', 'moveTo', 'dragTo', 'mouseDown', 'mouseUp']);

/** Between a phrase and its coordinates only whitespace, tags and light punctuation may stand. */
const PHRASE_GAP = /^[\s:=*`>–—-]*$/;
/** A tag-stripped label is the text right before `[[`, back to a line or sentence break. */
const LABEL_BREAK = /\n|[.:;,!?][*_`]*\s|\s[-–—]\s|\s(?:and|or)\s/g;
const MAX_LABEL_LENGTH = 60;
const GROUNDING_TAG = new RegExp(TAG, 'g');
const TRAILING_TAGS = new RegExp(`(?:${TAG})+$`);
const CLOSING_TAGS = new RegExp(`^(?:\\s*${TAG})+`);

function parseNumbers(inner: string): number[] {
  return inner.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
}

/** Coordinates of one `[[…],[…]]` list → regions, with `label`. Drops what cannot be right. */
function readList(list: string, label: string | null, debug: GroundingDebug): Region[] {
  const groups = [...list.matchAll(/\[([^\[\]]*)\]/g)].map((m) => ({ raw: m[0], values: parseNumbers(m[1] ?? '') }));
  // InternVL writes integers in 0..1000; a list of fractions within 0..1 is the same place in
  // 0..1 units (InternVL's own evaluation reads it so), never a sub-pixel box.
  const all = groups.flatMap((g) => g.values);
  const fractional = all.length > 0 && all.every((n) => Number.isFinite(n) && n >= 0 && n <= 1) && all.some((n) => !Number.isInteger(n));
  const scale = fractional ? 1 : INTERNVL_BOX_SCALE;
  if (fractional) debug(`read ${list} as 0..1 fractions`);
  const regions: Region[] = [];
  for (const { raw, values } of groups) {
    if (values.some((n) => !Number.isFinite(n))) {
      debug(`dropped ${raw}: not a list of numbers`);
      continue;
    }
    if (values.some((n) => n < 0 || n > scale)) {
      debug(`dropped ${raw}: values outside 0..${scale}`);
      continue;
    }
    if (values.length === 2) {
      const [x, y] = values as [number, number];
      regions.push({ kind: 'point', label, point: [x / scale, y / scale] });
      continue;
    }
    if (values.length !== 4) {
      debug(`dropped ${raw}: ${values.length} values, expected 4 (box) or 2 (point)`);
      continue;
    }
    let [x1, y1, x2, y2] = values as [number, number, number, number];
    // Swapped corners are unambiguous: the box is the same rectangle.
    if (x2 < x1 || y2 < y1) debug(`repaired ${raw}: swapped corners`);
    if (x2 < x1) [x1, x2] = [x2, x1];
    if (y2 < y1) [y1, y2] = [y2, y1];
    if (x1 === x2 || y1 === y2) {
      debug(`dropped ${raw}: zero area`);
      continue;
    }
    regions.push({ kind: 'box', label, box: [x1 / scale, y1 / scale, x2 / scale, y2 / scale] });
  }
  return regions;
}

/** `pyautogui.click(x=0.23, y=0.38)` or `pyautogui.moveTo(0.23, 0.38)` → a point in 0..1. */
function readCall(raw: string, action: string, args: string, label: string | null, debug: GroundingDebug): Region[] | null {
  if (!POINTER_ACTIONS.has(action)) return null;
  let x: number | undefined;
  let y: number | undefined;
  const positional: number[] = [];
  for (const part of args.split(',')) {
    const kw = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(part);
    if (kw) {
      if (kw[1] === 'x') x = Number(kw[2]);
      else if (kw[1] === 'y') y = Number(kw[2]);
    } else if (part.trim() !== '') positional.push(Number(part));
  }
  x ??= positional[0];
  y ??= positional[1];
  if (x === undefined || y === undefined) return null;
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    debug(`dropped ${raw}: coordinates are not numbers`);
    return [];
  }
  // GUI-agent prompting asks for 0..1; anything else is in a pixel space we cannot know.
  if (x < 0 || x > 1 || y < 0 || y > 1) {
    debug(`dropped ${raw}: coordinates outside 0..1`);
    return [];
  }
  return [{ kind: 'point', label, point: [x, y] }];
}

/** The words a tag-stripped `Label[[…]]` names, if the text right before `[[` is one. */
function strippedLabel(before: string): { label: string; start: number } | null {
  // `Save<box>[[…]]` (only the ref tags stripped) names "Save" too.
  // Tags at the start close the previous region (`</box>`).
  const closing = CLOSING_TAGS.exec(before)?.[0].length ?? 0;
  const lead = before.replace(TRAILING_TAGS, '');
  // Trailing space means prose ("is at [[…]]"); a tag inside means markup we cannot read.
  if (lead.length <= closing || /\s$/.test(lead) || new RegExp(TAG).test(lead.slice(closing))) return null;
  let from = closing;
  for (const m of lead.matchAll(LABEL_BREAK)) from = m.index + m[0].length;
  const skipped = /^\s*(?:(?:[-*+]|\d+[.)])\s+)?[*_`]*/.exec(lead.slice(from))?.[0].length ?? 0;
  const label = lead
    .slice(from + skipped)
    .replace(/[*_`]+/g, '')
    .trim();
  if (!label || label.length > MAX_LABEL_LENGTH) return null;
  return { label, start: from + skipped };
}

interface Scan {
  segments: AnswerSegment[];
  regions: Region[];
  /** Offset just past the last coordinates read: nothing before it can change as text is appended. */
  settled: number;
}

function scan(text: string, debug: GroundingDebug): Scan {
  const segments: AnswerSegment[] = [];
  const regions: Region[] = [];
  let cursor = 0; // text before this offset is already in `segments`
  let boundary = 0; // end of the previous phrase or coordinates: a stripped label starts after it
  let settled = 0;
  let pending: { segment: Extract<AnswerSegment, { kind: 'ref' }>; label: string | null; end: number } | null = null;

  const pushText = (t: string) => {
    const shown = t.replace(GROUNDING_TAG, '');
    if (shown) segments.push({ kind: 'text', text: shown });
  };

  for (const m of text.matchAll(TOKEN)) {
    const [raw, phrase, tag, list, action, args] = m;
    const start = m.index;
    const end = start + raw.length;
    if (tag !== undefined) continue; // tags are markup: they neither show nor break a phrase
    const gap = text.slice(pending?.end ?? start, start).replace(GROUNDING_TAG, '');
    if (pending && !PHRASE_GAP.test(gap)) pending = null;

    if (phrase !== undefined) {
      pushText(text.slice(cursor, start));
      const segment = { kind: 'ref' as const, text: phrase, regions: [] as number[] };
      segments.push(segment);
      pending = { segment, label: phrase.trim() || null, end };
      cursor = boundary = end;
      continue;
    }

    let label = pending?.label ?? null;
    let found: Region[] | null;
    let lead: { label: string; start: number } | null = null;
    if (list !== undefined) {
      if (!pending) {
        lead = strippedLabel(text.slice(boundary, start));
        label = lead?.label ?? null;
      }
      found = readList(list, label, debug);
    } else {
      found = readCall(raw, action ?? '', args ?? '', label, debug);
      if (found === null) continue; // not a pointer action: ordinary text
    }

    const indexes = found.map((_, i) => regions.length + i);
    regions.push(...found);
    if (lead) {
      const leadStart = boundary + lead.start;
      pushText(text.slice(cursor, leadStart));
      segments.push({ kind: 'ref', text: text.slice(leadStart, start).replace(GROUNDING_TAG, ''), regions: indexes });
    } else {
      pushText(text.slice(cursor, start));
      pending?.segment.regions.push(...indexes);
    }
    segments.push({ kind: 'coordinates', text: raw, regions: indexes });
    pending = null;
    cursor = boundary = settled = end;
  }
  pushText(text.slice(cursor));
  return { segments, regions, settled };
}

/**
 * Splits model output into display segments and the regions they name. Never throws; malformed
 * coordinates are dropped (or repaired when the intent is unambiguous) and reported through `debug`.
 */
export function parseAnswer(text: string, debug: GroundingDebug = () => undefined): { segments: AnswerSegment[]; regions: Region[] } {
  const { segments, regions } = scan(text, debug);
  return { segments, regions };
}

/** The regions named in `text`, normalised to 0..1 of the image the model was shown. */
export function parseRegions(text: string, debug?: GroundingDebug): Region[] {
  return scan(text, debug ?? (() => undefined)).regions;
}

/**
 * Reads regions from an answer as it streams, re-reading only the text after the last
 * coordinates: each region is reported once, when complete, and the regions reported for any
 * split of the text into chunks are exactly `parseRegions` of the whole.
 */
export class RegionStream {
  private settledText = '';
  private tail = '';
  private readonly found: Region[] = [];

  constructor(private readonly debug: GroundingDebug = () => undefined) {}

  get regions(): readonly Region[] {
    return this.found;
  }

  get text(): string {
    return this.settledText + this.tail;
  }

  /** Adds a chunk of text; returns the regions it completed. */
  push(chunk: string): Region[] {
    this.tail += chunk;
    const { regions, settled } = scan(this.tail, this.debug);
    if (settled === 0) return [];
    // Everything up to `settled` is final; the rest is read again with the next chunk.
    this.settledText += this.tail.slice(0, settled);
    this.tail = this.tail.slice(settled);
    // Every region comes from coordinates that end at or before `settled`.
    this.found.push(...regions);
    return regions;
  }
}
