// The chat's layout in a real VS Code (code-server), as a new user sees it: the sidebar at 300 px
// and 480 px, then the chat in an editor tab. A long answer from the real worker (the endless
// tiny model, stopped by the user) must end above the composer, its last line fully visible and
// not overlapped, "Stopped." with it; the view's title is not cut off and there is one New Chat.
// Screenshots of each go to test-results/screenshots/<LENS_SCREENSHOT_SET or "after">/; every
// check is collected and reported at the end, so a run against an older build still leaves all
// screenshots (that is how the "before" set is made: scripts/issue16-screenshots.sh). The User
// settings searched for "internvlLens" are the fourth screenshot.
import { strict as assert } from 'node:assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { pasteImage, RESULTS_DIR, runCommand, setSidebarWidth, useLensWorkbench, webviewPanelFrame } from './harness';
import { encodePng, solidImage } from '../fixtures/png';
import { tinyModel } from '../integration/support';
import { chatBottom } from '../webview/chat-probes';

const SHOTS = join(RESULTS_DIR, 'screenshots', process.env.LENS_SCREENSHOT_SET ?? 'after');

/** Until no hover (a tab's or a button's tooltip) is over the workbench, for a clean screenshot; at most 5 s. */
async function noHover(page: Page): Promise<void> {
  await page
    .waitForFunction(() => ![...document.querySelectorAll<HTMLElement>('.monaco-hover, .workbench-hover')].some((e) => e.offsetParent !== null && e.getClientRects().length > 0), null, { timeout: 5000 })
    .catch(() => undefined);
}

describe('Chat layout in a real VS Code: 300 px, 480 px, editor tab', () => {
  const lens = useLensWorkbench('chat-layout', () => {
    mkdirSync(SHOTS, { recursive: true });
    return { model: tinyModel('endless'), viewport: { width: 1400, height: 800 } };
  });
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };

  it('keeps the newest answer above the composer at every width, with a readable title bar', async () => {
    const page = lens.page;
    let frame = await lens.openChat();
    await frame.locator('.empty').waitFor({ timeout: 15_000 });
    const width = await setSidebarWidth(page, 300);
    assert.ok(Math.abs(width - 300) <= 2, `side bar at 300 px (got ${width})`);
    frame = await lens.chat();

    // An image and a question; the endless model answers until Stop.
    await pasteImage(frame, encodePng(900, 600, solidImage(900, 600, [30, 160, 90, 255])));
    await frame.locator('.attachment').waitFor({ timeout: 15_000 });
    await frame.locator('.composer textarea').fill('Describe this picture in detail.');
    await frame.locator('.composer textarea').press('Enter');
    // Longer than the view at 300 px (about 40 characters a line), well before the model's token limit.
    await lens.withLogs(frame.waitForFunction(() => (document.querySelector<HTMLElement>('.turn[data-status="streaming"] .answer')?.dataset.raw?.length ?? 0) > 1500, null, { timeout: 90_000 }));
    // The composer's Stop must be there to click at 300 px: shown, and nothing over its middle.
    const stopHit = await frame.evaluate(() => {
      const stop = document.querySelector<HTMLElement>('.composer .stop')!;
      const r = stop.getBoundingClientRect();
      if (r.width < 1) return 'not shown';
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit && stop.contains(hit) ? '' : `covered by <${hit?.tagName.toLowerCase()}>`;
    });
    check(stopHit === '', `300 px: the composer's Stop cannot be clicked (${stopHit})`);
    // Clicked as its own click handler sees it, whatever lies over it (that is checked above).
    await frame.evaluate(() => document.querySelector<HTMLElement>('.composer .stop')!.click());
    await frame.locator('.turn[data-status="stopped"]').waitFor({ timeout: 30_000 });

    // The title bar: one line, not cut off; one New Chat (the title bar's).
    const title = await page.locator('.part.sidebar .composite.title .title-label h2').evaluate((h) => ({ text: h.textContent ?? '', cut: h.scrollWidth > h.clientWidth }));
    check(!title.cut, `300 px: the view title "${title.text}" is cut off`);
    const titleNewChats = await page.locator('.part.sidebar .title-actions .action-label[aria-label^="New Chat"]').count();

    for (const px of [300, 480]) {
      if (px !== 300) {
        const got = await setSidebarWidth(page, px);
        assert.ok(Math.abs(got - px) <= 2, `side bar at ${px} px (got ${got})`);
        frame = await lens.chat();
      }
      // The view follows the end of the conversation after its size changed (one frame or two).
      await frame.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: join(SHOTS, `chat-${px}.png`) });
      const b = await chatBottom(frame);
      check(b.composerOpaque, `${px} px: the composer is see-through`);
      check(b.lineBottom <= b.composerTop && b.lastLineFree, `${px} px: the last line of the answer (${b.lineTop}–${b.lineBottom}) is behind the composer (top ${b.composerTop})`);
      check(b.statusBottom <= b.composerTop, `${px} px: "Stopped." (bottom ${b.statusBottom}) is behind the composer (top ${b.composerTop})`);
      check(!b.questionBoxScrolls, `${px} px: the question box shows scroll arrows`);
      check(titleNewChats + (b.newChatShown ? 1 : 0) === 1, `${px} px: ${titleNewChats + (b.newChatShown ? 1 : 0)} New Chat buttons`);
    }

    // The same conversation in an editor tab: 1400 px less the activity bar and the 480 px side bar.
    await runCommand(page, 'InternVL Lens: Open Chat in Editor');
    const panel = await webviewPanelFrame(page, 'internvlLens.chatPanel', 30_000);
    await panel.locator('.turn[data-status="stopped"]').waitFor({ timeout: 20_000 });
    await panel.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const tabWidth = await panel.evaluate(() => document.documentElement.clientWidth);
    // Off the tab's close button, whose tooltip would cover the screenshot.
    await page.mouse.move(900, 500);
    await noHover(page);
    await page.screenshot({ path: join(SHOTS, 'chat-editor.png') });
    const b = await chatBottom(panel);
    check(b.composerOpaque, `editor tab (${tabWidth} px): the composer is see-through`);
    check(b.lineBottom <= b.composerTop && b.lastLineFree, `editor tab (${tabWidth} px): the last line of the answer (${b.lineTop}–${b.lineBottom}) is behind the composer (top ${b.composerTop})`);
    check(b.statusBottom <= b.composerTop, `editor tab: "Stopped." (bottom ${b.statusBottom}) is behind the composer (top ${b.composerTop})`);
    check(b.newChatShown, 'editor tab: no New Chat (a tab has no view title bar)');

    // The settings a user searching "internvlLens" finds, under the heading "InternVL Lens".
    await runCommand(page, 'Preferences: Open User Settings', 20_000);
    const search = page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor textarea').first();
    await search.waitFor({ timeout: 20_000 });
    await search.fill('internvlLens');
    await page.waitForFunction(() => /^\d+ Settings? Found/.test(document.querySelector('.settings-editor .settings-count-widget')?.textContent ?? ''), null, { timeout: 20_000 });
    const headings = await page.$$eval('.settings-editor .settings-toc-entry', (es) => es.map((e) => e.textContent));
    check(headings.includes('InternVL Lens'), `settings: the heading is not "InternVL Lens" (${headings.join(', ')})`);
    await page.mouse.move(900, 500);
    await noHover(page);
    await page.screenshot({ path: join(SHOTS, 'settings.png') });
    assert.deepEqual(problems, [], `layout problems:\n${problems.join('\n')}`);
  });
});
