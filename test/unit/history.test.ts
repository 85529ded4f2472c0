// The history store: conversations round-trip with their images as files, survive a crash in the
// middle of a write (old state or new, never corrupt), and take their image files when deleted.
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation, titleFrom } from '../../src/chat/conversation';
import type { ConversationData } from '../../src/chat/records';
import { HistoryStore } from '../../src/chat/history';
import { TEMPORARY_FILE } from '../../src/files';
import { waitFor } from '../fixtures/wait';
import type { ChatTurn, Engine } from '../../src/engine/engine';
import { testPng } from '../fixtures/png';
import { CRASH_ID, crashConversation } from '../fixtures/history-data';
import { REPO_ROOT } from '../e2e/harness';

const dir = mkdtempSync(join(tmpdir(), 'lens-history-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STATS = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 5, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: false, contextFull: false };

/** An engine that answers each question with a fixed grounded answer and records what it was sent. */
function scriptedEngine(seen: ChatTurn[][], answer = 'The <ref>Save</ref><box>[[100,200,300,400]]</box> button.'): Engine {
  return {
    async chat(turns: ChatTurn[], _o: unknown, onToken: (t: string) => void) {
      seen.push(turns);
      onToken(answer);
      return { text: answer, stats: STATS };
    },
  } as unknown as Engine;
}

async function conversationWithImages(root: string): Promise<{ conversation: Conversation; store: AttachmentStore; seen: ChatTurn[][] }> {
  const store = new AttachmentStore(join(root, 'attachments'));
  const seen: ChatTurn[][] = [];
  const conversation = new Conversation({ engine: () => scriptedEngine(seen), chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log: () => undefined });
  const a = await store.add(testPng(640, 480), 'first.png');
  const b = await store.add(testPng(300, 900, 'solid'), 'second.png');
  await conversation.ask('Where is Save?\nSecond line', [a, b]);
  await conversation.ask('And now?');
  return { conversation, store, seen };
}

describe('history store', () => {
  it('a failed save rejects to its caller and leaves no other promise rejected unhandled', async () => {
    const root = join(dir, 'failed-save');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'history'), 'a file where the history folder should be');
    const history = new HistoryStore(join(root, 'history'), join(root, 'model'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const conversation = { ...crashConversation('A'), id: 'failed-save' };
      await assert.rejects(history.save(conversation), /ENOTDIR|EEXIST/);
      await assert.rejects(history.save(conversation), /ENOTDIR|EEXIST/, 'a second save after a failed one is tried, and fails the same way');
      await history.flush();
      // Unhandled rejections are reported after the microtask queue drains: give them two turns of the event loop.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
  });

  it('round-trips a conversation with its images as files', async () => {
    const root = join(dir, 'roundtrip');
    const { conversation, store } = await conversationWithImages(root);
    const history = new HistoryStore(join(root, 'history'), store.modelDir);
    const saved = conversation.snapshot();
    await history.save(saved);
    const images = readdirSync(join(root, 'history', saved.id, 'images'));
    assert.equal(images.length, 2, 'one file per image');
    const json = readdirSync(join(root, 'history', saved.id)).filter((f) => f.endsWith('.json'));
    assert.deepEqual(json, ['conversation.json']);

    const loaded = (await history.load(saved.id))!;
    assert.equal(loaded.title, 'Where is Save? · first.png');
    assert.equal(loaded.turns.length, 2);
    for (const [i, t] of loaded.turns.entries()) {
      const o = saved.turns[i]!;
      assert.equal(t.question, o.question);
      assert.equal(t.answer, o.answer);
      assert.equal(t.status, 'done');
      assert.deepEqual(t.regions, o.regions);
      assert.deepEqual(t.images.map((x) => x.id), o.images.map((x) => x.id));
      assert.equal(t.target?.id, o.target?.id);
    }
    for (const a of loaded.turns[0]!.images) assert.ok(existsSync(a.path) && a.path.startsWith(join(root, 'history')), `${a.path} is the conversation's own copy`);
    assert.deepEqual(loaded.turns[0]!.images[1]!.model.transform, saved.turns[0]!.images[1]!.model.transform);
    assert.deepEqual(await history.list(), [{ id: saved.id, title: 'Where is Save? · first.png', updated: saved.updated, turns: 2 }]);
  });

  it('a follow-up on a reloaded conversation sends the images again, remaking pruned model copies', async () => {
    const root = join(dir, 'followup');
    const { conversation, store } = await conversationWithImages(root);
    const history = new HistoryStore(join(root, 'history'), store.modelDir);
    await history.save(conversation.snapshot());
    // Capture retention deleted the attachment store, model-sized copies included.
    rmSync(store.dir, { recursive: true, force: true });
    const seen: ChatTurn[][] = [];
    const again = new Conversation({
      engine: () => scriptedEngine(seen),
      chatOptions: () => ({ maxTokens: 5, temperature: 0 }),
      log: () => undefined,
      prepareImages: (images) => history.ensureModelCopies(images),
    });
    again.restore((await history.load(conversation.id))!);
    await again.ask('Still there?');
    const sent = seen[0]!;
    assert.equal(sent.length, 5, 'two earlier exchanges and the new question');
    assert.equal(sent[0]!.images.length, 2);
    for (const img of sent[0]!.images) assert.ok(existsSync(img.path), `${img.path} was made again`);
    assert.equal(again.turns[2]!.target?.id, conversation.turns[0]!.images[1]!.id, 'the follow-up is about the latest image');
  });

  it('a turn saved while streaming comes back stopped, with what had arrived', async () => {
    const root = join(dir, 'streaming');
    const history = new HistoryStore(join(root, 'history'), join(root, 'model'));
    const data = crashConversation('A');
    data.turns[9] = { ...data.turns[9]!, status: 'streaming', answer: 'half an ans' };
    await history.save(data);
    const loaded = (await history.load(CRASH_ID))!;
    assert.equal(loaded.turns[9]!.status, 'stopped');
    assert.equal(loaded.turns[9]!.answer, 'half an ans');
  });

  it('a crash in the middle of a write leaves the old state or the new one, never a corrupt file', async () => {
    const root = join(dir, 'crash');
    const historyDir = join(root, 'history');
    const folder = join(historyDir, CRASH_ID);
    const history = new HistoryStore(historyDir, join(root, 'model'));
    await history.save(crashConversation('A'));
    const onDisk = (): string => (JSON.parse(readFileSync(join(folder, 'conversation.json'), 'utf8')) as { title: string }).title.slice(-1);
    const temporary = (): string[] => readdirSync(folder).filter((f) => TEMPORARY_FILE.test(f));
    for (let round = 0; round < 6; round++) {
      const child = fork(join(REPO_ROOT, 'test', 'fixtures', 'history-writer.ts'), [historyDir], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited with ${code} before saving`)));
      });
      // Frozen while a write is under way (its temporary file is there, the rename is not done),
      // then killed there: the crash lands mid-write, every round.
      const before = await waitFor(
        `round ${round}: the writer frozen mid-write`,
        () => {
          if (temporary().length === 0) return undefined;
          child.kill('SIGSTOP');
          if (temporary().length > 0) return onDisk();
          child.kill('SIGCONT'); // the rename landed between the two looks: try the next write
          return undefined;
        },
        { intervalMs: 1, timeoutMs: 20_000 },
      ).finally(() => child.kill('SIGKILL'));
      await exited;
      assert.ok(before === 'A' || before === 'B', `round ${round}: a whole version on disk when it was killed (${before})`);
      const loaded = await history.load(CRASH_ID);
      assert.ok(loaded, `round ${round}: the conversation is readable`);
      assert.deepEqual(loaded, { ...crashConversation(before as 'A' | 'B'), turns: loaded.turns }, `round ${round}: the version renamed into place before the crash`);
      for (const t of loaded.turns) assert.equal(t.answer, before.repeat(200_000), `round ${round}: every answer is version ${before}`);
      assert.deepEqual(temporary(), [], 'half-written files are swept on load');
    }
  });

  it('deleting a conversation removes its image files; others keep theirs', async () => {
    const root = join(dir, 'delete');
    const { conversation, store } = await conversationWithImages(root);
    const history = new HistoryStore(join(root, 'history'), store.modelDir);
    const first = conversation.snapshot();
    await history.save(first);
    conversation.clear();
    await conversation.ask('Another', [await store.add(testPng(100, 100), 'third.png')]);
    const second = conversation.snapshot();
    await history.save(second);
    const firstImages = readdirSync(join(root, 'history', first.id, 'images')).map((f) => join(root, 'history', first.id, 'images', f));
    assert.equal(firstImages.length, 2);
    await history.delete(first.id);
    for (const f of firstImages) assert.equal(existsSync(f), false, `${f} was deleted`);
    assert.equal(existsSync(join(root, 'history', first.id)), false);
    assert.equal(readdirSync(join(root, 'history', second.id, 'images')).length, 1);
    assert.deepEqual((await history.list()).map((e) => e.id), [second.id]);
  });

  it('renames, lists newest first, prunes by age and clears all', async () => {
    const root = join(dir, 'manage');
    const history = new HistoryStore(join(root, 'history'), join(root, 'model'));
    const make = (id: string, updated: number): ConversationData => ({ id, title: id, created: updated, updated, turns: crashConversation('A').turns.slice(0, 1) });
    const day = 24 * 3600 * 1000;
    await history.save(make('old', Date.now() - 40 * day));
    await history.save(make('new', Date.now()));
    await history.rename('new', '  Renamed  ');
    assert.deepEqual((await history.list()).map((e) => [e.id, e.title]), [['new', 'Renamed'], ['old', 'old']]);
    assert.equal(await history.prune(30, null), 1);
    assert.deepEqual((await history.list()).map((e) => e.id), ['new']);
    assert.equal(await history.prune(0, null), 0, '0 keeps everything');
    await history.clear();
    assert.deepEqual(await history.list(), []);
    await assert.rejects(history.load('../escape'), /invalid conversation id/);
  });

  it('skips a conversation file that is not what the store writes', async () => {
    const root = join(dir, 'garbage');
    const history = new HistoryStore(join(root, 'history'), join(root, 'model'));
    await history.save(crashConversation('A'));
    writeFileSync(join(root, 'history', CRASH_ID, 'conversation.json'), '{"version":1,"id":');
    const logged: string[] = [];
    const quiet = new HistoryStore(join(root, 'history'), join(root, 'model'), (m) => logged.push(m));
    assert.deepEqual(await quiet.list(), []);
    assert.match(logged.join('\n'), /not JSON/);
  });

  it('titles come from the first line of the first question and the image it is about', () => {
    assert.equal(titleFrom('  Where is it?\nmore'), 'Where is it?');
    assert.equal(titleFrom('x'.repeat(100)).length, 80);
    assert.equal(titleFrom(''), 'Image conversation');
    // The extension's own questions are the same every time: the image tells them apart.
    const explain = 'Explain this diagram: what it shows, its main parts and how they relate.';
    const a = titleFrom(explain, 'architecture.png');
    const b = titleFrom(explain, 'deploy-flow.svg.png');
    assert.notEqual(a, b);
    assert.ok(a.endsWith(' · architecture.png') && a.startsWith('Explain this diagram: what it shows'), a);
    assert.ok(a.length <= 80, a);
    assert.equal(titleFrom('', 'screen-2026-12-03-05-41-00.png'), 'screen-2026-12-03-05-41-00.png');
    const long = titleFrom('Where is it?', `${'n'.repeat(60)}.png`);
    assert.ok(long.length <= 80 && long.startsWith('Where is it? · nnn') && long.endsWith('…'), long);
  });

  it('regenerate and edit-and-resend replace the last turn and keep its images', async () => {
    const root = join(dir, 'redo');
    const { conversation, seen } = await conversationWithImages(root);
    const last = conversation.turns[1]!;
    await conversation.redo(last.id);
    assert.equal(conversation.turns.length, 2);
    assert.notEqual(conversation.turns[1]!.id, last.id);
    assert.equal(conversation.turns[1]!.question, 'And now?');
    await conversation.redo(conversation.turns[1]!.id, 'Edited question');
    assert.equal(conversation.turns.length, 2);
    assert.equal(conversation.turns[1]!.question, 'Edited question');
    assert.equal(seen.at(-1)!.at(-1)!.text, 'Edited question');
    assert.equal(await conversation.redo(conversation.turns[0]!.id), null, 'only the last turn can be redone');
  });
});
