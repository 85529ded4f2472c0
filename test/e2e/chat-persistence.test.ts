// Nothing lost, in a real VS Code (code-server) with the real worker on the tiny models:
// (a) the extension host is SIGKILLed 100 ms after the last token of an answer reached the chat:
//     after a restart the whole answer is in the history and on screen;
// (b) New Chat while an answer streams: the old conversation is in the history whole, every
//     token the chat had shown included.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Frame, Page } from 'playwright-core';
import { type CodeServer, exthostLog, launchBrowser, listProcesses, newWorkbenchPage, REPO_ROOT, runCommand, saveLogs, startCodeServer, webviewViewFrame } from './harness';
import { tinyModel } from '../integration/support';
import { waitFor } from '../fixtures/wait';

const EXTENSION_ID = 'internvl-lens.internvl-lens';
const VIEW = 'internvlLens.chat';

interface StoredConversation {
  id: string;
  turns: { question: string; answer: string; status: string }[];
}

function historyDir(server: CodeServer): string {
  return join(server.userDataDir, 'User', 'globalStorage', EXTENSION_ID, 'history');
}

function storedConversations(server: CodeServer): StoredConversation[] {
  const dir = historyDir(server);
  if (!existsSync(dir)) return [];
  const out: StoredConversation[] = [];
  for (const id of readdirSync(dir)) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, id, 'conversation.json'), 'utf8')) as StoredConversation);
    } catch {
      /* not written yet */
    }
  }
  return out;
}

async function startChat(model: ReturnType<typeof tinyModel>, settings: Record<string, unknown> = {}): Promise<{ server: CodeServer; browser: Browser; page: Page }> {
  const workspace = mkdtempSync(join(tmpdir(), 'lens-persist-ws-'));
  const server = await startCodeServer({
    workspace,
    settings: { 'internvlLens.modelPath': model.modelPath, 'internvlLens.mmprojPath': model.mmprojPath, 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2, ...settings },
    vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix'),
  });
  const browser = await launchBrowser();
  const page = await newWorkbenchPage(browser, server, { viewport: { width: 1300, height: 900 } });
  return { server, browser, page };
}

async function openChat(page: Page): Promise<Frame> {
  await runCommand(page, 'InternVL Lens: Open Chat');
  return webviewViewFrame(page, EXTENSION_ID, VIEW, 45_000);
}

async function ask(frame: Frame, question: string): Promise<void> {
  await frame.locator('.composer textarea').fill(question);
  await frame.locator('.composer textarea').press('Enter');
}

describe('Nothing lost: a killed extension host', () => {
  const model = tinyModel('grounding');
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ({ server, browser, page } = await startChat(model));
  });

  after(async () => {
    if (server) await saveLogs(server, 'chat-persistence-kill').catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  it('SIGKILL 100 ms after the last token: after a restart the whole answer is in the history', async () => {
    let frame = await openChat(page);
    await frame.locator('.empty').waitFor({ timeout: 15_000 });
    await ask(frame, 'Where are the regions?');
    // The moment the whole answer is on screen (the answer's last token), by the chat's own clock.
    const lastTokenAt = await frame
      .waitForFunction((expected) => (document.querySelector<HTMLElement>('.turn .answer')?.dataset.raw === expected ? Date.now() : false), model.answer, { timeout: 90_000, polling: 'raf' })
      .then((h) => h.jsonValue() as Promise<number>)
      .catch((err: unknown) => {
        console.log(exthostLog(server, 60, 'InternVL Lens'));
        throw err;
      });
    const hosts = listProcesses().filter((p) => p.pgid === server.pid && p.cmdline.includes('extensionHost'));
    assert.equal(hosts.length, 1, 'one extension host');
    await new Promise((r) => setTimeout(r, Math.max(0, lastTokenAt + 100 - Date.now())));
    const killedAfterMs = Date.now() - lastTokenAt;
    process.kill(hosts[0]!.pid, 'SIGKILL');
    console.log(`extension host SIGKILLed ${killedAfterMs} ms after the last token reached the chat`);

    const stored = storedConversations(server);
    assert.equal(stored.length, 1, 'the conversation is on disk');
    assert.equal(stored[0]!.turns[0]?.answer, model.answer, 'the whole answer was on disk when the extension host died');

    await page.reload();
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 30_000 });
    frame = await openChat(page);
    const turn = frame.locator('.turn');
    await turn.waitFor({ timeout: 30_000 });
    assert.equal(await turn.locator('.question-text').textContent(), 'Where are the regions?');
    await waitFor('the restored answer on screen', async () => (await turn.locator('.answer').getAttribute('data-raw')) === model.answer, { timeoutMs: 20_000 });
  });
});

describe('Nothing lost: New Chat during a stream', () => {
  const model = tinyModel('endless');
  let server: CodeServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    // The tiny model writes 1024 tokens in well under a second: room for an answer still running when New Chat is clicked.
    ({ server, browser, page } = await startChat(model, { 'internvlLens.maxTokens': 32768, 'internvlLens.contextSize': 40000 }));
  });

  after(async () => {
    if (server) await saveLogs(server, 'chat-persistence-new-chat').catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  it('the old conversation is whole in the history, every token shown included', async () => {
    const frame = await openChat(page);
    await frame.locator('.empty').waitFor({ timeout: 15_000 });
    await ask(frame, 'Count for me.');
    // Well into the stream, past a second of saving on a timer.
    await frame.waitForFunction(() => (document.querySelector<HTMLElement>('.turn[data-status="streaming"] .answer')?.dataset.raw?.length ?? 0) > 300, null, { timeout: 90_000 });
    // What the chat shows, and New Chat clicked in the same task: nothing arrives in between.
    const shown = await frame.evaluate(() => {
      const raw = document.querySelector<HTMLElement>('.turn .answer')?.dataset.raw ?? '';
      document.querySelector<HTMLElement>('.new-chat')!.click();
      return raw;
    });
    await frame.locator('.empty').waitFor({ timeout: 10_000 });
    const old = await waitFor(
      `the old conversation on disk with the ${shown.length} characters shown`,
      () => {
        const c = storedConversations(server).find((s) => s.turns[0]?.question === 'Count for me.');
        return c && c.turns[0]!.answer.length >= shown.length ? c : undefined;
      },
      { timeoutMs: 10_000 },
    ).catch((err: Error) => {
      const c = storedConversations(server).find((s) => s.turns[0]?.question === 'Count for me.');
      throw new Error(`${err.message} (stored: ${c ? `${c.turns[0]!.answer.length} characters, ${c.turns[0]!.status}` : 'nothing'})`);
    });
    assert.ok(old.turns[0]!.answer.startsWith(shown), 'the stored answer is the one shown');
    await waitFor('the stopped answer stored as stopped', () => storedConversations(server).find((s) => s.id === old.id)?.turns[0]?.status === 'stopped', { timeoutMs: 30_000 }).catch((err: Error) => {
      const c = storedConversations(server).find((s) => s.id === old.id);
      // 'done' would mean the answer had ended before New Chat: not the case this test is about.
      throw new Error(`${err.message} (stored: ${c?.turns[0]?.status}, ${c?.turns[0]?.answer.length} characters)`);
    });

    // And the history lists it, and opens it whole.
    await frame.locator('.history-toggle').click();
    await frame.locator('.history-item .history-title', { hasText: 'Count for me.' }).click();
    await waitFor(
      'the old conversation on screen again',
      async () => ((await frame.locator('.turn .answer').getAttribute('data-raw').catch(() => null)) ?? '').startsWith(shown) && shown.length > 0,
      { timeoutMs: 20_000 },
    );
  });
});
