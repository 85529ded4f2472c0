// Nothing lost, in a real VS Code (code-server) with the real worker on the tiny models:
// (a) the extension host is SIGKILLed 100 ms after the last token of an answer reached the chat:
//     after a restart the whole answer is in the history and on screen;
// (b) New Chat while an answer streams: the old conversation is in the history whole, every
//     token the chat had shown included.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Frame } from 'playwright-core';
import { type CodeServer, EXTENSION_ID, listProcesses, useLensWorkbench } from './harness';
import { sleep } from '../../src/util/sleep';
import { tinyModel } from '../integration/support';
import { waitFor } from '../fixtures/wait';


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

async function ask(frame: Frame, question: string): Promise<void> {
  await frame.locator('.composer textarea').fill(question);
  await frame.locator('.composer textarea').press('Enter');
}

describe('Nothing lost: a killed extension host', () => {
  const model = tinyModel('grounding');
  const lens = useLensWorkbench('chat-persistence-kill', () => ({ model, viewport: { width: 1300, height: 900 } }));

  it('SIGKILL 100 ms after the last token: after a restart the whole answer is in the history', async () => {
    let frame = await lens.openChat();
    await frame.locator('.empty').waitFor({ timeout: 15_000 });
    await ask(frame, 'Where are the regions?');
    // The moment the whole answer is on screen (the answer's last token), by the chat's own clock.
    const lastTokenAt = await lens.withLogs(
      frame
        .waitForFunction((expected) => (document.querySelector<HTMLElement>('.turn .answer')?.dataset.raw === expected ? Date.now() : false), model.answer, { timeout: 90_000, polling: 'raf' })
        .then((h) => h.jsonValue() as Promise<number>),
    );
    const hosts = listProcesses().filter((p) => p.pgid === lens.server.pid && p.cmdline.includes('extensionHost'));
    assert.equal(hosts.length, 1, 'one extension host');
    // Not a synchronisation: the kill is meant to land 100 ms after the last token, whatever happens meanwhile.
    await sleep(Math.max(0, lastTokenAt + 100 - Date.now()));
    const killedAfterMs = Date.now() - lastTokenAt;
    process.kill(hosts[0]!.pid, 'SIGKILL');
    console.log(`extension host SIGKILLed ${killedAfterMs} ms after the last token reached the chat`);

    const stored = storedConversations(lens.server);
    assert.equal(stored.length, 1, 'the conversation is on disk');
    assert.equal(stored[0]!.turns[0]?.answer, model.answer, 'the whole answer was on disk when the extension host died');

    await lens.page.reload();
    await lens.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 30_000 });
    frame = await lens.openChat();
    const turn = frame.locator('.turn');
    await turn.waitFor({ timeout: 30_000 });
    assert.equal(await turn.locator('.question-text').textContent(), 'Where are the regions?');
    await waitFor('the restored answer on screen', async () => (await turn.locator('.answer').getAttribute('data-raw')) === model.answer, { timeoutMs: 20_000 });
  });
});

describe('Nothing lost: New Chat during a stream', () => {
  const model = tinyModel('endless');
  // The tiny model writes 1024 tokens in well under a second: room for an answer still running when New Chat is clicked.
  const lens = useLensWorkbench('chat-persistence-new-chat', () => ({ model, settings: { 'internvlLens.maxTokens': 32768, 'internvlLens.contextSize': 40000 }, viewport: { width: 1300, height: 900 } }));

  it('the old conversation is whole in the history, every token shown included', async () => {
    const frame = await lens.openChat();
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
        const c = storedConversations(lens.server).find((s) => s.turns[0]?.question === 'Count for me.');
        return c && c.turns[0]!.answer.length >= shown.length ? c : undefined;
      },
      { timeoutMs: 10_000 },
    ).catch((err: Error) => {
      const c = storedConversations(lens.server).find((s) => s.turns[0]?.question === 'Count for me.');
      throw new Error(`${err.message} (stored: ${c ? `${c.turns[0]!.answer.length} characters, ${c.turns[0]!.status}` : 'nothing'})`);
    });
    assert.ok(old.turns[0]!.answer.startsWith(shown), 'the stored answer is the one shown');
    await waitFor('the stopped answer stored as stopped', () => storedConversations(lens.server).find((s) => s.id === old.id)?.turns[0]?.status === 'stopped', { timeoutMs: 30_000 }).catch((err: Error) => {
      const c = storedConversations(lens.server).find((s) => s.id === old.id);
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
