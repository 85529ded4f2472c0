// Reads regions out of InternVL answers: tagged (`<ref>…</ref><box>[[…]]</box>`), tag-stripped
// (`Save[[…]]`, bare `[[…]]`), two-value points (`[[x, y]]`) and pyautogui actions
// (`pyautogui.click(x=0.23, y=0.38)`), in prose and markdown. Inside markdown code only the
// tagged forms and pyautogui actions name a place: `np.array([[1, 2, 3, 4]])` is code, not a box.
//
// One pass, each character read a bounded number of times, whatever the input: a hand-written
// tokenizer whose state survives between chunks, so a stream costs what one parse of the whole
// text costs. Never throws.
import { CodeSpans } from './code-spans';
import { INTERNVL_BOX_SCALE, quadArea2, type Quad, type Region } from './region';

/** A piece of model output, for display: plain text, the words naming regions, or their coordinates. */
export type AnswerSegment =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; text: string; regions: number[] }
  | { kind: 'coordinates'; text: string; regions: number[] };

export type GroundingDebug = (message: string) => void;

/** pyautogui actions whose coordinates name a place on the screen. */
const POINTER_ACTIONS = new Set(['click', 'doubleClick', 'tripleClick', 'rightClick', 'middleClick', 'moveTo', 'dragTo', 'mouseDown', 'mouseUp']);

const MAX_LABEL_LENGTH = 60;
/** A debug message quotes at most this much of the text it is about. */
const MAX_QUOTE = 80;
/** Drops reported one by one per list; the rest are counted. */
const MAX_DROPS_REPORTED = 10;

// Tokens. Every one is built so that no later text can make a token start earlier and swallow
// one already read: a phrase holds no brackets and no pyautogui call, a coordinate list holds
// only numbers, and a call's arguments hold no brackets or tags. That is what makes streaming safe.
const TAGS = ['<ref>', '</ref>', '<box>', '</box>', '<point>', '</point>', '<quad>', '</quad>'];
const REF_OPEN = 0;
const BOX_OPEN = 2;
const QUAD_OPEN = 6;
const ALL_TAGS = (1 << TAGS.length) - 1;
/** TAG_CHARS[k * 128 + c]: the TAGS whose character k is c, as a bit mask. */
const TAG_CHARS = new Uint8Array(8 * 128);
/** TAG_ENDS[k]: the TAGS k characters long. */
const TAG_ENDS = new Uint8Array(9);
TAGS.forEach((tag, i) => {
  for (let k = 0; k < tag.length; k++) TAG_CHARS[k * 128 + tag.charCodeAt(k)]! |= 1 << i;
  TAG_ENDS[tag.length]! |= 1 << i;
});
const REF_CLOSE = '</ref>';
const CALL = 'pyautogui.';

const TAB = 9;
const LF = 10;
const SPACE = 32;
const BANG = 33;
const LPAREN = 40;
const RPAREN = 41;
const STAR = 42;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const COLON = 58;
const SEMICOLON = 59;
const LT = 60;
const EQUALS = 61;
const GT = 62;
const QUESTION = 63;
const LBRACKET = 91;
const RBRACKET = 93;
const UNDERSCORE = 95;
const BACKTICK = 96;
const LOWER_A = 97;
const LOWER_D = 100;
const LOWER_N = 110;
const LOWER_O = 111;
const LOWER_P = 112;
const LOWER_R = 114;
const LOWER_X = 120;
const LOWER_Y = 121;
const EN_DASH = 0x2013;
const EM_DASH = 0x2014;

/** JavaScript's `\s`. */
function isWs(c: number): boolean {
  if (c === SPACE || (c >= TAB && c <= 13)) return true;
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
function isLetter(c: number): boolean {
  const lower = c | 0x20;
  return lower >= LOWER_A && lower <= 122;
}
function isDash(c: number): boolean {
  return c === MINUS || c === EN_DASH || c === EM_DASH;
}
/** Between a phrase and its coordinates only whitespace, tags and light punctuation may stand. */
function isGapChar(c: number): boolean {
  return isWs(c) || c === COLON || c === EQUALS || c === STAR || c === BACKTICK || c === GT || isDash(c);
}
function isListChar(c: number): boolean {
  return (c >= DIGIT_0 && c <= DIGIT_9) || c === DOT || c === COMMA || c === PLUS || c === MINUS;
}
/** In a phrase: what may end it, or start `pyautogui.`. */
function isPhraseStop(c: number): boolean {
  return c === LT || c === GT || c === LBRACKET || c === RBRACKET || c === LOWER_P;
}
/** In a call's arguments: what may end them, or start another call. */
function isArgsStop(c: number): boolean {
  return c === LPAREN || c === RPAREN || c === LBRACKET || c === RBRACKET || c === LT || c === GT || c === LOWER_P;
}
function isSentenceMark(c: number): boolean {
  return c === DOT || c === COLON || c === SEMICOLON || c === COMMA || c === BANG || c === QUESTION;
}
function isEmphasis(c: number): boolean {
  return c === STAR || c === UNDERSCORE || c === BACKTICK;
}

function quote(text: string): string {
  return text.length <= MAX_QUOTE ? text : `${text.slice(0, MAX_QUOTE - 20)}… (${text.length} characters)`;
}

/** The number in `list` between `from` and `to`; NaN for an empty field. */
function fieldValue(list: string, from: number, to: number): number {
  // Most fields are a few digits: read those here rather than slicing a string for `Number`.
  let value = 0;
  let digits = 0;
  let k = from;
  while (k < to && isWs(list.charCodeAt(k))) k++;
  if (k === to) return Number.NaN;
  for (; k < to; k++) {
    const c = list.charCodeAt(k);
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
    digits++;
  }
  while (k < to && isWs(list.charCodeAt(k))) k++;
  return k === to && digits > 0 && digits <= 15 ? value : Number(list.slice(from, to));
}

/**
 * Whether every number in `list` lies in 0..1 and one is not an integer: InternVL writes integers
 * in 0..1000, and a list of fractions within 0..1 is the same place in 0..1 units (InternVL's own
 * evaluation reads it so), never a sub-pixel box.
 */
function isFractional(list: string): boolean {
  let fraction = false;
  for (let from = list.indexOf('[', 1) + 1; from > 0; ) {
    const comma = list.indexOf(',', from);
    const close = list.indexOf(']', from);
    const to = comma < 0 || comma > close ? close : comma;
    const n = fieldValue(list, from, to);
    if (!(Number.isFinite(n) && n >= 0 && n <= 1)) return false;
    if (!Number.isInteger(n)) fraction = true;
    from = to === close ? list.indexOf('[', close) + 1 : to + 1;
  }
  return fraction;
}

/** Coordinates of one `[[…],[…]]` list → regions (appended to `regions`), with `label`. Drops what cannot be right. */
function readList(list: string, label: string | null, debug: GroundingDebug, regions: Region[]): void {
  const fractional = isFractional(list);
  const scale = fractional ? 1 : INTERNVL_BOX_SCALE;
  if (fractional) debug(`read ${quote(list)} as 0..1 fractions`);
  let drops = 0;
  // The tokenizer has checked the shape: every `[` after the first opens a group of numbers.
  for (let open = list.indexOf('[', 1); open >= 0; ) {
    const close = list.indexOf(']', open);
    let count = 0;
    let finite = true;
    let inRange = true;
    // The first eight values (a quad has eight; a box four, a point two).
    const v = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let from = open + 1; ; ) {
      const comma = list.indexOf(',', from);
      const to = comma < 0 || comma > close ? close : comma;
      const n = fieldValue(list, from, to);
      if (!Number.isFinite(n)) finite = false;
      else if (n < 0 || n > scale) inRange = false;
      if (count < 8) v[count] = n;
      count++;
      if (to === close) break;
      from = to + 1;
    }
    let [x1, y1, x2, y2] = v as [number, number, number, number];
    let why: string | null = !finite ? 'not a list of numbers' : !inRange ? `values outside 0..${scale}` : null;
    if (why === null && count === 2) regions.push({ kind: 'point', label, point: [x1 / scale, y1 / scale] });
    else if (why === null && count === 8) {
      // InternVL's `<quad>`: four corners in the model's order, kept as written.
      if (quadArea2(v) === 0) why = 'zero area';
      if (why === null) regions.push({ kind: 'quad', label, quad: v.map((n) => n / scale) as Quad });
      else if (++drops <= MAX_DROPS_REPORTED) debug(`dropped ${quote(list.slice(open, close + 1))}: ${why}`);
    } else {
      if (why === null && count !== 4) why = `${count} values, expected 4 (box), 2 (point) or 8 (quad)`;
      if (why === null) {
        // Swapped corners are unambiguous: the box is the same rectangle.
        if (x2 < x1 || y2 < y1) debug(`repaired ${quote(list.slice(open, close + 1))}: swapped corners`);
        if (x2 < x1) [x1, x2] = [x2, x1];
        if (y2 < y1) [y1, y2] = [y2, y1];
        if (x1 === x2 || y1 === y2) why = 'zero area';
      }
      if (why === null) regions.push({ kind: 'box', label, box: [x1 / scale, y1 / scale, x2 / scale, y2 / scale] });
      else if (++drops <= MAX_DROPS_REPORTED) debug(`dropped ${quote(list.slice(open, close + 1))}: ${why}`);
    }
    open = list.indexOf('[', close);
  }
  if (drops > MAX_DROPS_REPORTED) debug(`dropped ${drops - MAX_DROPS_REPORTED} more in ${quote(list)}`);
}

function isLineEnd(c: number): boolean {
  return c === LF || c === 13 || c === 0x2028 || c === 0x2029;
}

/**
 * `pyautogui.click(x=0.23, y=0.38)` or `pyautogui.moveTo(0.23, 0.38)` → a point in 0..1; null
 * for a call that names no place, or why the point was dropped.
 */
function readCall(action: string, args: string, label: string | null): Region | string | null {
  if (!POINTER_ACTIONS.has(action)) return null;
  let x: number | undefined;
  let y: number | undefined;
  let first: number | undefined; // the first two positional arguments
  let second: number | undefined;
  for (let from = 0; from <= args.length; ) {
    const comma = args.indexOf(',', from);
    const to = comma < 0 ? args.length : comma;
    let a = from;
    let b = to;
    while (a < b && isWs(args.charCodeAt(a))) a++;
    while (b > a && isWs(args.charCodeAt(b - 1))) b--;
    from = to + 1;
    if (a === b) continue;
    // `name = value`, the value on one line; anything else is a positional argument.
    const eq = args.indexOf('=', a);
    if (eq >= 0 && eq < b) {
      let keyEnd = eq;
      while (keyEnd > a && isWs(args.charCodeAt(keyEnd - 1))) keyEnd--;
      let v = eq + 1;
      while (v < b && isWs(args.charCodeAt(v))) v++;
      let named = keyEnd > a;
      for (let k = a; k < keyEnd && named; k++) named = isLetter(args.charCodeAt(k)) || args.charCodeAt(k) === UNDERSCORE;
      for (let k = v; k < b && named; k++) named = !isLineEnd(args.charCodeAt(k));
      if (named) {
        if (keyEnd - a === 1 && args.charCodeAt(a) === LOWER_X) x = Number(args.slice(v, b));
        else if (keyEnd - a === 1 && args.charCodeAt(a) === LOWER_Y) y = Number(args.slice(v, b));
        continue;
      }
    }
    if (first === undefined) first = Number(args.slice(a, b));
    else if (second === undefined) second = Number(args.slice(a, b));
  }
  x ??= first;
  y ??= second;
  if (x === undefined || y === undefined) return null;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return 'coordinates are not numbers';
  // GUI-agent prompting asks for 0..1; anything else is in a pixel space we cannot know.
  if (x < 0 || x > 1 || y < 0 || y > 1) return 'coordinates outside 0..1';
  return { kind: 'point', label, point: [x, y] };
}

/**
 * Where the last sentence break in `lead` ends (0 if none): `\n`, `[.:;,!?][*_`]*\s`,
 * `\s[-–—]\s` or `\s(?:and|or)\s`, wherever one ends last, read backwards from the end.
 */
function lastBreakEnd(lead: string): number {
  for (let e = lead.length; e > 0; e--) {
    const c = lead.charCodeAt(e - 1);
    if (!isWs(c)) continue;
    if (c === LF) return e;
    let k = e - 2;
    while (k >= 0 && isEmphasis(lead.charCodeAt(k))) k--;
    if (k >= 0 && isSentenceMark(lead.charCodeAt(k))) return e;
    const p1 = lead.charCodeAt(e - 2);
    if (e >= 3 && isDash(p1) && isWs(lead.charCodeAt(e - 3))) return e;
    if (e >= 5 && p1 === LOWER_D && lead.charCodeAt(e - 3) === LOWER_N && lead.charCodeAt(e - 4) === LOWER_A && isWs(lead.charCodeAt(e - 5))) return e;
    if (e >= 4 && p1 === LOWER_R && lead.charCodeAt(e - 3) === LOWER_O && isWs(lead.charCodeAt(e - 4))) return e;
  }
  return 0;
}

/** Past the whitespace, list marker (`-`, `*`, `+`, `1.`, `1)`) and emphasis a label starts with. */
function labelStart(lead: string, from: number): number {
  let i = from;
  while (i < lead.length && isWs(lead.charCodeAt(i))) i++;
  let j = i;
  const c = lead.charCodeAt(j);
  if (c === MINUS || c === STAR || c === PLUS) j++;
  else if (c >= DIGIT_0 && c <= DIGIT_9) {
    while (j < lead.length && lead.charCodeAt(j) >= DIGIT_0 && lead.charCodeAt(j) <= DIGIT_9) j++;
    j = lead.charCodeAt(j) === DOT || lead.charCodeAt(j) === RPAREN ? j + 1 : -1;
  } else j = -1;
  if (j > 0 && j < lead.length && isWs(lead.charCodeAt(j))) {
    while (j < lead.length && isWs(lead.charCodeAt(j))) j++;
    i = j;
  }
  while (i < lead.length && isEmphasis(lead.charCodeAt(i))) i++;
  return i;
}

/** Small chunks are joined into strings of about this many characters. */
const COALESCED_CHUNK = 4096;

/**
 * The text read so far, in chunks (joining them all would copy the text on every chunk; keeping
 * each token of a stream apart would leave the garbage collector millions of tiny strings).
 * Offsets are from the start of the answer.
 */
class TextLog {
  private readonly chunks: string[] = [];
  private readonly starts: number[] = [];
  length = 0;
  /** The chunk `charCode` read last: reads move forwards, or back a few characters. */
  private at = 0;
  /** The small chunks at the end, from this index, hold `smallLength` characters. */
  private smallFrom = 0;
  private smallLength = 0;

  append(chunk: string): void {
    this.chunks.push(chunk);
    this.starts.push(this.length);
    this.length += chunk.length;
    if (chunk.length >= COALESCED_CHUNK) {
      this.smallFrom = this.chunks.length;
      this.smallLength = 0;
      return;
    }
    this.smallLength += chunk.length;
    if (this.smallLength < COALESCED_CHUNK) return;
    const from = this.smallFrom;
    const joined = this.chunks.slice(from).join('');
    this.chunks.length = from + 1;
    this.starts.length = from + 1;
    this.chunks[from] = joined;
    if (this.at > from) this.at = from;
    this.smallFrom = from + 1;
    this.smallLength = 0;
  }

  /** The chunk holding `pos` (which must be < length), and where it starts. */
  chunkAt(pos: number): string {
    let i = this.at;
    while (pos < this.starts[i]!) i--;
    while (pos >= this.starts[i]! + this.chunks[i]!.length) i++;
    this.at = i;
    return this.chunks[i]!;
  }

  /** Where the chunk `chunkAt` returned last starts. */
  get chunkStart(): number {
    return this.starts[this.at]!;
  }

  /** The chunk holding `pos`. */
  private locate(pos: number): number {
    // Mostly the chunk read last, or the one after it.
    const at = this.at;
    if (pos >= this.starts[at]!) {
      if (pos < this.starts[at]! + this.chunks[at]!.length) return at;
      if (at + 1 < this.chunks.length && pos < this.starts[at + 1]! + this.chunks[at + 1]!.length) return at + 1;
    }
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  slice(from: number, to: number): string {
    if (to <= from) return '';
    let i = this.locate(from);
    const first = this.chunks[i]!;
    const offset = from - this.starts[i]!;
    if (to - this.starts[i]! <= first.length) return first.slice(offset, to - this.starts[i]!);
    const parts = [first.slice(offset)];
    while (this.starts[++i]! + this.chunks[i]!.length < to) parts.push(this.chunks[i]!);
    parts.push(this.chunks[i]!.slice(0, to - this.starts[i]!));
    return parts.join('');
  }

  /**
   * Hands [from, to) to `read` one chunk at a time, as (chunk, start, end) indexes into the
   * chunk, until `read` returns an index short of `end`; returns the offset it stopped at.
   */
  scan(from: number, to: number, read: (chunk: string, start: number, end: number) => number): number {
    let at = from;
    let i = this.locate(from);
    while (at < to) {
      const chunk = this.chunks[i]!;
      const base = this.starts[i]!;
      const end = Math.min(to - base, chunk.length);
      const stop = read(chunk, at - base, end);
      at = base + stop;
      if (stop < end) break;
      i++;
    }
    return at;
  }
}

// Tokenizer modes.
const TEXT = 0;
const TAG = 1; // after `<`: one of TAGS?
const PHRASE = 2; // after `<ref>`: a phrase up to `</ref>`?
const PHRASE_END = 3; // `<` in a phrase: `</ref>`?
const LIST = 4;
const CALL_PREFIX = 5; // `pyautogui.`?
const CALL_NAME = 6;
const CALL_ARGS = 7;
// Where in `[[…], […]]` a list is.
const LIST_OPEN = 0; // after the first `[`
const LIST_INNER = 1; // inside `[…]`
const LIST_AFTER = 2; // after an inner `]`
const LIST_NEXT = 3; // after `,`: another `[…]`

/** The phrase a coming list or call may belong to. */
interface Pending {
  segment: Extract<AnswerSegment, { kind: 'ref' }> | null;
  label: string | null;
}

/** Model output → regions (and, when asked, display segments), one chunk at a time. */
class AnswerScanner {
  readonly regions: Region[] = [];
  readonly segments: AnswerSegment[] | null;
  /** Regions from this index on were found since `takeFresh` was last called. */
  private taken = 0;
  private readonly log = new TextLog();
  private readonly code = new CodeSpans();

  // The tokenizer.
  private pos = 0;
  private mode = TEXT;
  private tokenStart = 0;
  private matched = 0; // characters of a tag, `</ref>` or `pyautogui.` matched so far
  private tagMask = ALL_TAGS; // TAGS the characters after `<` still agree with
  private phraseEnd = 0; // where `</ref>` would start
  private listState = LIST_OPEN;
  private listInCode = false;
  private innerOpen = 0; // the inner `[` being read…
  private innerBlank = true; // …and whether only whitespace followed it
  private nameStart = 0;
  private argsStart = 0;
  private nameMatched = 0; // `pyautogui` read at the end of the name
  private argsMatched = 0; // `pyautogui.` read in the arguments…
  private argsCall = -1; // …and where a call seen in them starts, if only letters follow it

  // What has been read since the last phrase or coordinates (the boundary).
  private cursor = 0; // text before this offset is in `segments`
  private readonly tagStarts: number[] = []; // the tags since `cursor`, left out of the display
  private readonly tagEnds: number[] = [];
  private pending: Pending | null = null;
  private gapOk = true; // only what PHRASE_GAP allows stands between `pending` and here
  // A tag-stripped label: the text right before `[[`, back to a line or sentence break, after
  // the tags that close the previous region, and never across a tag or ending in a space.
  private inClosingTags = true; // only whitespace and tags since the boundary…
  private closingEnd = 0; // …the last of which ends here
  private tagInLead = false; // a tag was followed by text since the closing tags
  private untrailedTag = false; // a tag after the closing tags, nothing after it yet
  private lastTextWs = false;
  private tagRunStart = -1; // the tags directly before here (lastTagEnd === here)
  private lastTagEnd = -1;
  private boxTagInRun = false;
  /** Reads text in TEXT mode: up to a character that may start a token. */
  private readonly readText = (chunk: string, start: number, end: number) => this.absorb(chunk, start, end, true);
  /** Reads a token that turned out text, whole. */
  private readonly readFailed = (chunk: string, start: number, end: number) => this.absorb(chunk, start, end, false);
  // Skip what changes nothing inside a token: most of a phrase, the numbers of a list, a call's arguments.
  private readonly skipPhrase = (chunk: string, start: number, end: number) => {
    let k = start;
    while (k < end && !isPhraseStop(chunk.charCodeAt(k))) k++;
    return k;
  };
  private readonly skipNumbers = (chunk: string, start: number, end: number) => {
    let k = start;
    for (let c = chunk.charCodeAt(k); k < end && (isListChar(c) || isWs(c)); c = chunk.charCodeAt(++k));
    return k;
  };
  private readonly skipArgs = (chunk: string, start: number, end: number) => {
    let k = start;
    while (k < end && !isArgsStop(chunk.charCodeAt(k))) k++;
    return k;
  };

  constructor(
    private readonly debug: GroundingDebug,
    withSegments: boolean,
  ) {
    this.segments = withSegments ? [] : null;
  }

  get text(): string {
    return this.log.slice(0, this.log.length);
  }

  push(chunk: string): void {
    if (!chunk) return;
    this.log.append(chunk);
    this.code.feed(chunk);
    this.advance(this.code.decided);
  }

  end(): void {
    this.code.end();
    this.advance(this.log.length);
    // Whatever token is still open never closes: read it as text.
    while (this.mode !== TEXT) {
      this.failAtEnd();
      this.advance(this.log.length);
    }
    this.flushText(this.log.length);
  }

  takeFresh(): Region[] {
    const out = this.regions.slice(this.taken);
    this.taken = this.regions.length;
    return out;
  }

  private advance(limit: number): void {
    let chunk = '';
    let base = 0;
    let end = 0; // chunk[0, end) may be read
    while (this.pos < limit) {
      if (this.pos < base || this.pos - base >= end) {
        chunk = this.log.chunkAt(this.pos);
        base = this.log.chunkStart;
        end = Math.min(chunk.length, limit - base);
      }
      const c = chunk.charCodeAt(this.pos - base);
      switch (this.mode) {
        case TEXT:
          if (c === LT) this.startToken(TAG);
          else if (c === LBRACKET) {
            this.listState = LIST_OPEN;
            this.listInCode = this.code.isCode(this.pos);
            this.startToken(LIST);
          } else if (c === LOWER_P) this.startToken(CALL_PREFIX);
          else this.pos = this.log.scan(this.pos, limit, this.readText);
          break;
        case TAG:
          this.tagStep(c);
          break;
        case PHRASE:
          if (this.matched === 0 && !isPhraseStop(c)) this.pos = this.log.scan(this.pos, limit, this.skipPhrase);
          else this.phraseStep(c);
          break;
        case PHRASE_END:
          if (c === REF_CLOSE.charCodeAt(this.matched)) {
            this.pos++;
            if (++this.matched === REF_CLOSE.length) this.phrase();
          } else this.failPhrase(this.phraseEnd);
          break;
        case LIST:
          if (this.listState === LIST_INNER && !this.innerBlank && isListChar(c)) this.pos = this.log.scan(this.pos, limit, this.skipNumbers);
          else this.listStep(c);
          break;
        case CALL_PREFIX:
          if (c === CALL.charCodeAt(this.matched)) {
            this.pos++;
            if (++this.matched === CALL.length) this.startName(this.pos);
          } else this.failToken();
          break;
        case CALL_NAME:
          this.nameStep(c);
          break;
        default:
          if (this.argsMatched === 0 && this.argsCall < 0 && !isArgsStop(c)) this.pos = this.log.scan(this.pos, limit, this.skipArgs);
          else this.argsStep(c);
      }
    }
  }

  private startToken(mode: number): void {
    this.mode = mode;
    this.tokenStart = this.pos++;
    this.matched = 1;
    this.tagMask = ALL_TAGS;
  }

  /** The token being read is text after all; reading goes on at `pos`. */
  private failToken(): void {
    this.textRange(this.tokenStart, this.pos);
    this.mode = TEXT;
  }

  private failAtEnd(): void {
    if (this.mode === TAG) {
      this.textRange(this.tokenStart, this.tokenStart + 1);
      this.pos = this.tokenStart + 1;
      this.mode = TEXT;
    } else if (this.mode === PHRASE) this.failPhrase(this.pos);
    else if (this.mode === PHRASE_END) this.failPhrase(this.phraseEnd);
    else this.failToken();
  }

  private tagStep(c: number): void {
    const mask = c < 128 ? this.tagMask & TAG_CHARS[this.matched * 128 + c]! : 0;
    if (mask === 0) {
      // Not a tag: `<` is text, and what followed it is read again (it may start a token).
      this.textRange(this.tokenStart, this.tokenStart + 1);
      this.pos = this.tokenStart + 1;
      this.mode = TEXT;
      return;
    }
    this.pos++;
    this.tagMask = mask;
    const done = mask & TAG_ENDS[++this.matched]!;
    if (done === 0) return;
    if (done === 1 << REF_OPEN) {
      this.mode = PHRASE;
      this.matched = 0;
    } else {
      this.tag(this.tokenStart, this.pos, done === 1 << BOX_OPEN || done === 1 << QUAD_OPEN);
      this.mode = TEXT;
    }
  }

  private phraseStep(c: number): void {
    if (c === LT) {
      this.mode = PHRASE_END;
      this.phraseEnd = this.pos++;
      this.matched = 1;
      return;
    }
    if (c === LBRACKET || c === RBRACKET || c === GT) {
      this.failPhrase(this.pos);
      return;
    }
    // `matched` follows `pyautogui.` through the phrase: a phrase holds no call.
    this.matched = c === CALL.charCodeAt(this.matched) ? this.matched + 1 : c === LOWER_P ? 1 : 0;
    this.pos++;
    if (this.matched === CALL.length) {
      const call = this.pos - CALL.length;
      this.failPhrase(call);
      this.tokenStart = call;
      this.pos = call + CALL.length;
      this.startName(this.pos);
    }
  }

  /** `<ref>` opened no phrase: it is a tag, what followed it text up to `at`, where reading goes on. */
  private failPhrase(at: number): void {
    const bodyStart = this.tokenStart + TAGS[REF_OPEN]!.length;
    this.tag(this.tokenStart, bodyStart, false);
    this.textRange(bodyStart, at);
    this.pos = at;
    this.mode = TEXT;
  }

  private listStep(c: number): void {
    switch (this.listState) {
      case LIST_OPEN:
        if (c === LBRACKET) this.openInner();
        else if (!isWs(c)) return this.failToken();
        break;
      case LIST_INNER:
        if (c === RBRACKET) this.listState = LIST_AFTER;
        else if (isListChar(c)) this.innerBlank = false;
        else if (c === LBRACKET && this.innerBlank) {
          // `[ [` again: the list starts at the previous `[` instead.
          this.textRange(this.tokenStart, this.innerOpen);
          this.tokenStart = this.innerOpen;
          this.openInner();
        } else if (!isWs(c)) return this.failToken();
        break;
      case LIST_AFTER:
        if (c === COMMA) this.listState = LIST_NEXT;
        else if (c === RBRACKET) {
          this.pos++;
          this.mode = TEXT;
          this.list(this.tokenStart, this.pos);
          return;
        } else if (!isWs(c)) return this.failToken();
        break;
      default:
        if (c === LBRACKET) this.openInner();
        else if (!isWs(c)) return this.failToken();
    }
    this.pos++;
  }

  private openInner(): void {
    this.listState = LIST_INNER;
    this.innerOpen = this.pos;
    this.innerBlank = true;
  }

  private startName(at: number): void {
    this.mode = CALL_NAME;
    this.nameStart = at;
    this.nameMatched = 0;
  }

  private nameStep(c: number): void {
    if (isLetter(c)) {
      this.nameMatched = c === CALL.charCodeAt(this.nameMatched) ? this.nameMatched + 1 : c === LOWER_P ? 1 : 0;
      this.pos++;
    } else if (c === LPAREN && this.pos > this.nameStart) {
      this.mode = CALL_ARGS;
      this.argsStart = ++this.pos;
      this.argsMatched = 0;
      this.argsCall = -1;
    } else if (c === DOT && this.nameMatched === CALL.length - 1) {
      // `pyautogui.pyautogui.`: the call starts at the second one.
      const call = this.pos - this.nameMatched;
      this.textRange(this.tokenStart, call);
      this.tokenStart = call;
      this.startName(++this.pos);
    } else this.failToken();
  }

  private argsStep(c: number): void {
    if (c === RPAREN) {
      this.pos++;
      this.mode = TEXT;
      this.call();
      return;
    }
    if (c === LPAREN || c === LBRACKET || c === RBRACKET || c === LT || c === GT) {
      if (c === LPAREN && this.argsCall >= 0 && this.pos > this.argsCall + CALL.length) {
        // `pyautogui.click(pyautogui.click(`: the first call never closes, the second may.
        this.textRange(this.tokenStart, this.argsCall);
        this.tokenStart = this.argsCall;
        this.nameStart = this.argsCall + CALL.length;
        this.argsStart = ++this.pos;
        this.argsMatched = 0;
        this.argsCall = -1;
      } else this.failToken();
      return;
    }
    if (this.argsCall >= 0 && !isLetter(c)) this.argsCall = -1;
    this.argsMatched = c === CALL.charCodeAt(this.argsMatched) ? this.argsMatched + 1 : c === LOWER_P ? 1 : 0;
    this.pos++;
    if (this.argsMatched === CALL.length) {
      this.argsCall = this.pos - CALL.length;
      this.argsMatched = 0;
    }
  }

  // ── What the tokens mean ──────────────────────────────────────────────────────────────────

  private phrase(): void {
    this.mode = TEXT;
    const start = this.tokenStart;
    const body = this.log.slice(start + TAGS[REF_OPEN]!.length, this.phraseEnd);
    this.flushText(start);
    const segment = this.segments ? { kind: 'ref' as const, text: body, regions: [] as number[] } : null;
    if (segment) this.segments!.push(segment);
    this.pending = { segment, label: body.trim() || null };
    this.gapOk = true;
    this.boundary(this.pos);
  }

  private list(start: number, end: number): void {
    const tagged = (this.pending !== null && this.gapOk) || (this.boxTagInRun && this.lastTagEnd === start);
    // In code, `[[1, 0], [0, 1]]` is a matrix or an argument, unless a tag says otherwise.
    if (this.listInCode && !tagged) return this.textRange(start, end);
    if (!this.gapOk) this.pending = null;
    const raw = this.log.slice(start, end);
    let label = this.pending?.label ?? null;
    let lead: { label: string; start: number; end: number } | null = null;
    if (!this.pending) {
      lead = this.strippedLabel(start);
      label = lead?.label ?? null;
    }
    const first = this.regions.length;
    readList(raw, label, this.debug, this.regions);
    this.found(first, start, end, raw, lead);
  }

  private call(): void {
    const start = this.tokenStart;
    const end = this.pos;
    if (!this.gapOk) this.pending = null;
    const action = this.log.slice(this.nameStart, this.argsStart - 1);
    const args = this.log.slice(this.argsStart, end - 1);
    const point = readCall(action, args, this.pending?.label ?? null);
    // Not a pointer action: ordinary text.
    if (point === null) return this.textRange(start, end);
    if (typeof point === 'string') this.debug(`dropped ${quote(this.log.slice(start, end))}: ${point}`);
    const first = this.regions.length;
    if (typeof point !== 'string') this.regions.push(point);
    this.found(first, start, end, this.segments ? this.log.slice(start, end) : '', null);
  }

  /** Coordinates from `start` to `end` gave the regions from index `first` on. */
  private found(first: number, start: number, end: number, raw: string, lead: { label: string; start: number; end: number } | null): void {
    if (this.segments) {
      const indexes: number[] = [];
      for (let i = first; i < this.regions.length; i++) indexes.push(i);
      if (lead) {
        this.flushText(lead.start);
        this.segments.push({ kind: 'ref', text: this.log.slice(lead.start, lead.end), regions: indexes });
      } else {
        this.flushText(start);
        const phrase = this.pending?.segment;
        if (phrase) for (const i of indexes) phrase.regions.push(i);
      }
      this.segments.push({ kind: 'coordinates', text: raw, regions: indexes });
    }
    this.pending = null;
    this.boundary(end);
  }

  /** The label a tag-stripped `Label[[…]]` gives the list starting at `start`, if it has one. */
  private strippedLabel(start: number): { label: string; start: number; end: number } | null {
    // `Save<box>[[…]]` (only the ref tags stripped) names "Save" too.
    const leadEnd = this.lastTagEnd === start ? this.tagRunStart : start;
    // Trailing space means prose ("is at [[…]]"); a tag inside means markup we cannot read.
    if (leadEnd <= this.closingEnd || this.lastTextWs || this.tagInLead) return null;
    // What the label is read from holds no tag; lists never share one, so all of them together
    // cost one pass over the text.
    const lead = this.log.slice(this.closingEnd, leadEnd);
    const from = lastBreakEnd(lead);
    const skipped = labelStart(lead, from);
    let label = lead.slice(skipped);
    if (/[*_`]/.test(label)) label = label.replace(/[*_`]+/g, '');
    label = label.trim();
    if (!label || label.length > MAX_LABEL_LENGTH) return null;
    return { label, start: this.closingEnd + skipped, end: leadEnd };
  }

  /** A phrase or coordinates ended at `end`: a label or phrase gap starts afresh after it. */
  private boundary(end: number): void {
    this.cursor = end;
    if (this.tagStarts.length > 0) this.tagStarts.length = this.tagEnds.length = 0;
    this.inClosingTags = true;
    this.closingEnd = end;
    this.tagInLead = this.untrailedTag = this.lastTextWs = this.boxTagInRun = false;
    this.tagRunStart = this.lastTagEnd = -1;
  }

  /** Tags are markup: they neither show nor break a phrase. */
  private tag(start: number, end: number, isBox: boolean): void {
    if (this.segments) {
      this.tagStarts.push(start);
      this.tagEnds.push(end);
    }
    if (this.inClosingTags) this.closingEnd = end;
    else this.untrailedTag = true;
    if (this.lastTagEnd !== start) {
      this.tagRunStart = start;
      this.boxTagInRun = false;
    }
    this.lastTagEnd = end;
    this.boxTagInRun ||= isBox;
  }

  /** [from, to) is text: not a token, not a tag. */
  private textRange(from: number, to: number): void {
    this.log.scan(from, to, this.readFailed);
  }

  /**
   * Text characters chunk[start, end): notes what labels and phrase gaps need to know of them.
   * With `stop`, stops before a character that may start a token and returns its index.
   */
  private absorb(chunk: string, start: number, end: number, stop: boolean): number {
    let k = start;
    // Per character work only while a character can still change something.
    while (k < end && (this.inClosingTags || (this.gapOk && this.pending !== null))) {
      const c = chunk.charCodeAt(k);
      if (stop && (c === LT || c === LBRACKET || c === LOWER_P)) break;
      if (!isWs(c)) this.inClosingTags = false;
      if (!isGapChar(c)) this.gapOk = false;
      k++;
    }
    if (!stop) k = end;
    else {
      for (; k < end; k++) {
        const c = chunk.charCodeAt(k);
        if (c === LT || c === LBRACKET || c === LOWER_P) break;
      }
    }
    if (k > start) {
      if (this.untrailedTag) {
        this.tagInLead = true;
        this.untrailedTag = false;
      }
      this.lastTextWs = isWs(chunk.charCodeAt(k - 1));
      this.lastTagEnd = -1;
      this.boxTagInRun = false;
    }
    return k;
  }

  /** Text since the last segment up to `to`, without its tags, as a segment. */
  private flushText(to: number): void {
    if (!this.segments) return;
    let shown = '';
    let at = this.cursor;
    for (let i = 0; i < this.tagStarts.length && this.tagStarts[i]! < to; i++) {
      shown += this.log.slice(at, this.tagStarts[i]!);
      at = this.tagEnds[i]!;
    }
    shown += this.log.slice(at, to);
    if (shown) this.segments.push({ kind: 'text', text: shown });
    this.cursor = to;
  }
}

/**
 * Splits model output into display segments and the regions they name. Never throws; malformed
 * coordinates are dropped (or repaired when the intent is unambiguous) and reported through `debug`.
 */
export function parseAnswer(text: string, debug: GroundingDebug = () => undefined): { segments: AnswerSegment[]; regions: Region[] } {
  const scanner = new AnswerScanner(debug, true);
  scanner.push(text);
  scanner.end();
  return { segments: scanner.segments!, regions: scanner.regions };
}

/** The regions named in `text`, normalised to 0..1 of the image the model was shown. */
export function parseRegions(text: string, debug?: GroundingDebug): Region[] {
  const scanner = new AnswerScanner(debug ?? (() => undefined), false);
  scanner.push(text);
  scanner.end();
  return scanner.regions;
}

/**
 * Reads regions from an answer as it streams. Each region is reported once, as soon as no later
 * text can change it; after `end()`, the regions reported for any split of the text into chunks
 * are exactly `parseRegions` of the whole. Costs the same as one `parseRegions` of the whole text.
 */
export class RegionStream {
  private readonly scanner: AnswerScanner;
  private ended = false;

  constructor(debug: GroundingDebug = () => undefined) {
    this.scanner = new AnswerScanner(debug, false);
  }

  get regions(): readonly Region[] {
    return this.scanner.regions;
  }

  get text(): string {
    return this.scanner.text;
  }

  /** Adds a chunk of text; returns the regions it completed. */
  push(chunk: string): Region[] {
    if (this.ended) throw new Error('RegionStream.push after end()');
    this.scanner.push(chunk);
    return this.scanner.takeFresh();
  }

  /**
   * The answer is complete: what only its end could settle (a backtick that opens no code span,
   * a list cut off) is read now. Returns the regions that completes.
   */
  end(): Region[] {
    if (!this.ended) {
      this.ended = true;
      this.scanner.end();
    }
    return this.scanner.takeFresh();
  }
}
