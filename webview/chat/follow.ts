// The conversation scrolls on its own, above the composer (which never covers it). It follows
// the newest content while the user is at the end; once they scroll up it stays where they are
// and offers "Jump to latest", until they jump or scroll back to the end themselves.
import { textButton } from '../shared/controls';

/** How near the end (CSS px) still counts as at the end: a line's worth of slack for rounding. */
const AT_END = 24;

export class Follow {
  readonly jumpButton;
  private following = true;
  /** scrollTop after the last scroll seen or made: a smaller one later means the user went up. */
  private lastTop = 0;

  constructor(
    private readonly scroller: HTMLElement,
    content: HTMLElement,
  ) {
    this.jumpButton = textButton('arrow-down', 'Jump to latest', () => this.jump(), 'text-button secondary jump-latest');
    this.jumpButton.hidden = true;
    // Scroll events arrive a frame late, when more content may already have come in: only a
    // move up that leaves the end stops following (a list that shrank is clamped to its end).
    scroller.addEventListener('scroll', () => {
      const top = scroller.scrollTop;
      this.following = this.atEnd() || (this.following && top >= this.lastTop - 1);
      this.lastTop = top;
      this.jumpButton.hidden = this.following || this.atEnd();
    });
    // Content grows after it is added too (images load, a long answer renders over a few frames).
    new ResizeObserver(() => this.grew()).observe(content);
    new ResizeObserver(() => this.grew()).observe(scroller);
  }

  private atEnd(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= AT_END;
  }

  /** Something was added or grew: keep the end in view when following, else say there is more. */
  grew(): void {
    if (this.following) this.toEnd();
    else this.jumpButton.hidden = this.atEnd();
  }

  /** A new question: show it, whatever the user was reading. */
  jump(): void {
    this.following = true;
    this.jumpButton.hidden = true;
    this.toEnd();
  }

  private toEnd(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.lastTop = this.scroller.scrollTop;
  }
}
