// Where the markdown code is in a model answer, read as it streams, each character once: fenced
// blocks (``` or ~~~, at any indentation, in quotes and list items) and inline code spans (a run
// of n backticks up to the next run of exactly n in the same paragraph, as CommonMark reads
// them). Whether a backtick run opens a span depends on text that has not arrived yet, so what is
// known is a frontier: every offset before `decided` has its final answer. Only that frontier and
// the spans found so far are kept; the text itself is not.

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const HASH = 35;
const CLOSE_PAREN = 41;
const STAR = 42;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const DIGIT_0 = 48;
const DIGIT_9 = 57;
const GT = 62;
const BACKSLASH = 92;
const BACKTICK = 96;
const TILDE = 126;

// Where in a line the reader is, outside a fence…
const PREFIX = 0; // indentation and quote markers
const BULLET = 1; // after `-`, `*` or `+`: a list item if a space follows
const ORDERED = 2; // digits: an ordered list item if `.` or `)` and a space follow
const ORDERED_MARK = 3;
const HEADING = 4; // `#`s: a heading if a space follows
const FENCE_RUN = 5; // backticks or tildes at the start of the line
const FENCE_INFO = 6; // after three or more backticks: a fence unless a backtick follows on the line
const BODY = 7; // paragraph text
// …and inside one.
const IN_PREFIX = 8;
const IN_RUN = 9; // fence characters: a closing fence if enough and only spaces follow
const IN_TAIL = 10;
const IN_CONTENT = 11;

const isBlank = (c: number) => c === SPACE || c === TAB || c === CR;

export class CodeSpans {
  /** Offsets below this one have their final answer from `isCode`. */
  decided = 0;
  private pos = 0;
  private phase = PREFIX;
  private lineStart = 0;
  /** The line so far holds only spaces and quote markers. */
  private blank = true;
  /** `#`s, digits or fence characters counted in the current phase. */
  private count = 0;
  private fenceRunChar = 0;
  private fenceRunStart = 0;
  /** The open fence's character and length (0: none). */
  private fenceChar = 0;
  private fenceLength = 0;
  /** A heading is one line: its end ends the paragraph. */
  private paragraphAtEol = false;
  private backslashes = 0;
  /** The backtick run being read in paragraph text (-1: none), and the backslashes before it. */
  private run = -1;
  private runLength = 0;
  private runBackslashes = 0;
  /** A run that opens a span if the same length comes again in this paragraph (-1: none). */
  private opener = -1;
  private openerRaw = 0;
  private openerLength = 0;
  /**
   * Runs read after the opener, as (start, length) pairs, the length negative when a backslash
   * escapes the run's first backtick: if the opener turns out plain text, they pair among themselves.
   */
  private runs = new Int32Array(64);
  private runCount = 0;
  private readonly runIndex = new RunIndex();
  /** Code spans found, in order, as [start, end) (end Infinity while a fence is open). */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private head = 0;

  feed(chunk: string): void {
    for (let i = 0; i < chunk.length; i++) this.step(chunk.charCodeAt(i));
    this.updateDecided();
  }

  /** The text has ended: an open fence runs to the end, an unpaired opener is plain text. */
  end(): void {
    if (this.phase === FENCE_RUN) {
      if (this.count >= 3) this.openFence(this.fenceRunChar, this.count, this.fenceRunStart);
      else if (this.fenceRunChar === BACKTICK) this.completeRun(this.fenceRunStart, this.count, false);
    } else if (this.phase === FENCE_INFO) this.openFence(BACKTICK, this.count, this.fenceRunStart);
    else if (this.run >= 0) this.completeRun(this.run, this.runLength, this.runBackslashes % 2 === 1);
    this.run = -1;
    this.paragraphEnd();
    this.phase = BODY;
    this.decided = this.pos;
  }

  /** Whether offset `at` (< decided) is markdown code. Calls must come in increasing order of `at`. */
  isCode(at: number): boolean {
    while (this.head < this.ends.length && this.ends[this.head]! <= at) this.head++;
    if (this.head > 1024 && this.head * 2 > this.ends.length) {
      this.starts.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
    return this.head < this.starts.length && this.starts[this.head]! <= at;
  }

  private updateDecided(): void {
    let frontier = this.pos;
    if (this.fenceChar === 0) {
      if (this.opener >= 0) frontier = this.openerRaw;
      else if (this.phase === FENCE_RUN || this.phase === FENCE_INFO) frontier = this.fenceRunStart;
      else if (this.run >= 0) frontier = this.run;
    }
    if (frontier > this.decided) this.decided = frontier;
  }

  private step(c: number): void {
    const pos = this.pos++;
    switch (this.phase) {
      case PREFIX:
        if (isBlank(c) || c === GT) return;
        if (c === LF) {
          if (this.blank) this.paragraphEnd();
          this.newLine(pos + 1);
          return;
        }
        this.blank = false;
        if (c === MINUS || c === STAR || c === PLUS) this.phase = BULLET;
        else if (c >= DIGIT_0 && c <= DIGIT_9) {
          this.phase = ORDERED;
          this.count = 1;
        } else if (c === HASH) {
          this.phase = HEADING;
          this.count = 1;
        } else if (c === BACKTICK || c === TILDE) {
          this.phase = FENCE_RUN;
          this.fenceRunChar = c;
          this.fenceRunStart = pos;
          this.count = 1;
        } else this.body(c, pos);
        return;
      case ORDERED:
        if (c >= DIGIT_0 && c <= DIGIT_9 && this.count < 9) this.count++;
        else if (c === DOT || c === CLOSE_PAREN) this.phase = ORDERED_MARK;
        else this.body(c, pos);
        return;
      // A list marker ("-", "1."): a space or tab after it starts the item's block.
      case BULLET:
      case ORDERED_MARK:
        if (c === SPACE || c === TAB) this.blockStart();
        else this.body(c, pos);
        return;
      case HEADING:
        if (c === HASH && this.count < 6) this.count++;
        else if (c === SPACE || c === TAB || c === LF) {
          this.paragraphEnd();
          this.paragraphAtEol = true;
          this.body(c, pos);
        } else this.body(c, pos);
        return;
      case FENCE_RUN:
        if (c === this.fenceRunChar) {
          this.count++;
          return;
        }
        if (this.count >= 3 && this.fenceRunChar === TILDE) {
          this.openFence(TILDE, this.count, this.fenceRunStart);
          this.inFence(c, pos);
        } else if (this.count >= 3) {
          this.phase = FENCE_INFO;
          this.fenceInfo(c, pos);
        } else {
          if (this.fenceRunChar === BACKTICK) this.completeRun(this.fenceRunStart, this.count, false);
          this.body(c, pos);
        }
        return;
      case FENCE_INFO:
        this.fenceInfo(c, pos);
        return;
      case BODY:
        this.body(c, pos);
        return;
      default:
        this.inFence(c, pos);
    }
  }

  /** A list item marker: a new block, so the paragraph before it has ended. */
  private blockStart(): void {
    this.paragraphEnd();
    this.phase = PREFIX;
  }

  private fenceInfo(c: number, pos: number): void {
    if (c === BACKTICK) {
      // A backtick in the info string: not a fence but a run in paragraph text.
      this.completeRun(this.fenceRunStart, this.count, false);
      this.body(c, pos);
    } else if (c === LF) {
      this.openFence(BACKTICK, this.count, this.fenceRunStart);
      this.newFenceLine(pos + 1);
    } else this.backslashes = c === BACKSLASH ? this.backslashes + 1 : 0;
  }

  private body(c: number, pos: number): void {
    this.phase = BODY;
    if (c === BACKTICK) {
      if (this.run < 0) {
        this.run = pos;
        this.runLength = 1;
        this.runBackslashes = this.backslashes;
      } else this.runLength++;
      this.backslashes = 0;
      return;
    }
    if (this.run >= 0) {
      this.completeRun(this.run, this.runLength, this.runBackslashes % 2 === 1);
      this.run = -1;
    }
    if (c === BACKSLASH) {
      this.backslashes++;
      return;
    }
    this.backslashes = 0;
    if (c === LF) {
      if (this.paragraphAtEol) this.paragraphEnd();
      this.newLine(pos + 1);
    }
  }

  private inFence(c: number, pos: number): void {
    switch (this.phase) {
      case IN_PREFIX:
        if (c === LF) this.newFenceLine(pos + 1);
        else if (c === this.fenceChar) {
          this.phase = IN_RUN;
          this.count = 1;
        } else if (!isBlank(c) && c !== GT) this.phase = IN_CONTENT;
        return;
      case IN_RUN:
        if (c === this.fenceChar) this.count++;
        else if (this.count >= this.fenceLength && (isBlank(c) || c === LF)) this.closingTail(c, pos);
        else if (c === LF) this.newFenceLine(pos + 1);
        else this.phase = IN_CONTENT;
        return;
      case IN_TAIL:
        this.closingTail(c, pos);
        return;
      default:
        this.phase = IN_CONTENT;
        if (c === LF) this.newFenceLine(pos + 1);
    }
  }

  private closingTail(c: number, pos: number): void {
    if (c === LF) {
      this.ends[this.ends.length - 1] = pos + 1;
      this.fenceChar = 0;
      this.newLine(pos + 1);
    } else this.phase = isBlank(c) ? IN_TAIL : IN_CONTENT;
  }

  private newLine(start: number): void {
    this.lineStart = start;
    this.phase = PREFIX;
    this.blank = true;
    this.paragraphAtEol = false;
    this.backslashes = 0;
  }

  private newFenceLine(start: number): void {
    this.lineStart = start;
    this.phase = IN_PREFIX;
  }

  private openFence(char: number, length: number, start: number): void {
    this.paragraphEnd();
    this.fenceChar = char;
    this.fenceLength = length;
    this.phase = IN_CONTENT;
    this.starts.push(start);
    this.ends.push(Number.POSITIVE_INFINITY);
  }

  private completeRun(start: number, length: number, escaped: boolean): void {
    if (this.opener < 0) {
      // `\`` is a literal backtick: the run proper starts after it.
      const n = escaped ? length - 1 : length;
      if (n === 0) return;
      this.opener = escaped ? start + 1 : start;
      this.openerRaw = start;
      this.openerLength = n;
      return;
    }
    // Inside a span a backslash is literal: any run of the opener's length closes it.
    if (length === this.openerLength) {
      this.starts.push(this.opener);
      this.ends.push(start + length);
      this.opener = -1;
      this.runCount = 0;
      return;
    }
    if (this.runCount * 2 === this.runs.length) {
      const grown = new Int32Array(this.runs.length * 2);
      grown.set(this.runs);
      this.runs = grown;
    }
    this.runs[this.runCount * 2] = start;
    this.runs[this.runCount * 2 + 1] = escaped ? -length : length;
    this.runCount++;
  }

  /**
   * The paragraph has ended: an opener still waiting is plain text after all, and the runs read
   * after it pair up among themselves, left to right, as CommonMark would have read them.
   */
  private paragraphEnd(): void {
    if (this.opener < 0) return;
    this.opener = -1;
    const n = this.runCount;
    if (n < 2) {
      this.runCount = 0;
      return;
    }
    const runs = this.runs;
    // next[i]: the next run of the same length as run i (-1: none). After this pass, `first`
    // holds, for each length, the first run of it: the "next run of length L after i" pointer.
    const next = new Int32Array(n);
    const first = this.runIndex;
    first.clear();
    for (let i = n - 1; i >= 0; i--) {
      const len = Math.abs(runs[i * 2 + 1]!);
      next[i] = first.get(len);
      first.set(len, i);
    }
    let i = 0;
    while (i < n) {
      const signed = runs[i * 2 + 1]!;
      const len = signed < 0 ? -signed - 1 : signed;
      let j = len > 0 ? first.get(len) : -1;
      while (j !== -1 && j <= i) j = next[j]!;
      if (len > 0) first.set(len, j);
      if (j !== -1) {
        this.starts.push(runs[i * 2]! + (signed < 0 ? 1 : 0));
        this.ends.push(runs[j * 2]! + Math.abs(runs[j * 2 + 1]!));
        i = j + 1;
      } else i++;
    }
    this.runCount = 0;
  }
}

/** Run index by run length: an array for the short lengths text is full of, a map beyond. */
class RunIndex {
  private readonly short = new Int32Array(64).fill(-1);
  private readonly long = new Map<number, number>();

  get(length: number): number {
    return length < 64 ? this.short[length]! : (this.long.get(length) ?? -1);
  }

  clear(): void {
    this.short.fill(-1);
    this.long.clear();
  }

  set(length: number, index: number): void {
    if (length < 64) this.short[length] = index;
    else this.long.set(length, index);
  }
}
