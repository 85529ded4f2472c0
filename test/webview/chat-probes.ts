// Reads the chat webview's layout (a test Page or the webview Frame inside code-server).
import type { Frame, Page } from 'playwright-core';

export interface ChatBottom {
  /** The text of the newest answer's last non-empty text node. */
  text: string;
  /** That text's last line box, client coordinates. */
  lineTop: number;
  lineBottom: number;
  composerTop: number;
  /** The element drawn at the middle of that line belongs to the answer (nothing covers it). */
  lastLineFree: boolean;
  /** The bottom of the newest turn's status line ("Stopped.", the stats). */
  statusBottom: number;
  composerOpaque: boolean;
  /** The question box has more content than room (it would show scroll arrows). */
  questionBoxScrolls: boolean;
  /** The webview's own New Chat button is displayed. */
  newChatShown: boolean;
}

/** Where the newest answer ends, against the composer. */
export function chatBottom(target: Page | Frame): Promise<ChatBottom> {
  return target.evaluate(() => {
    const answers = document.querySelectorAll('.answer');
    const answer = answers[answers.length - 1]!;
    const walker = document.createTreeWalker(answer, NodeFilter.SHOW_TEXT);
    let text: Text | null = null;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) if ((n as Text).data.trim()) text = n as Text;
    const range = document.createRange();
    range.selectNodeContents(text!);
    const rects = [...range.getClientRects()];
    const line = rects[rects.length - 1]!;
    const composer = document.querySelector('.composer')!;
    const statuses = document.querySelectorAll('.turn .status');
    const status = statuses[statuses.length - 1]!.getBoundingClientRect();
    const hit = document.elementFromPoint(line.left + Math.min(10, line.width / 2), line.top + line.height / 2);
    const bg = (getComputedStyle(composer).backgroundColor.match(/[\d.]+/g) ?? []).map(Number);
    const box = document.querySelector<HTMLTextAreaElement>('.composer textarea')!;
    const newChat = document.querySelector<HTMLElement>('.new-chat');
    return {
      text: text!.data,
      lineTop: line.top,
      lineBottom: line.bottom,
      composerTop: composer.getBoundingClientRect().top,
      lastLineFree: hit !== null && answer.contains(hit),
      statusBottom: status.bottom,
      composerOpaque: bg.length === 3 || bg[3] === 1,
      questionBoxScrolls: box.scrollHeight > box.clientHeight,
      newChatShown: newChat !== null && newChat.offsetParent !== null,
    };
  });
}
