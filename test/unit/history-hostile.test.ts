// A conversation file is untrusted input (another program, a bad disk, a hand edit): the history
// store must refuse it or load it cleanly, reading a bounded number of bytes in bounded time.
// The folder is the id; image names are plain names inside the conversation's folder; the
// model-sized copies' paths are rebuilt from the image ids. Then generated hostile files:
// random mutations of a real conversation file (byte flips, truncations, values replaced by huge
// strings, deep nesting, wrong types, paths that escape), each loaded in a fresh folder.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation } from '../../src/chat/conversation';
import type { ConversationData } from '../../src/chat/records';
import { HistoryStore, MAX_CONVERSATION_FILE_BYTES } from '../../src/chat/history';
import type { Engine } from '../../src/engine/engine';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-history-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STATS = { promptTokens: 1, contextTokens: 1, imageTokens: 0, reusedTokens: 0, kvReused: false, imagesEncoded: true, promptMs: 1, imageEncodeMs: 1, generatedTokens: 5, timeToFirstTokenMs: 1, tokensPerSecond: 1, interrupted: false, contextFull: false };
const ANSWER = 'The <ref>Save</ref><box>[[100,200,300,400]]</box> button.';
const engine = { chat: async (_t: unknown, _o: unknown, onToken: (t: string) => void) => (onToken(ANSWER), { text: ANSWER, stats: STATS }) } as unknown as Engine;

/** A seeded PRNG (mulberry32), so a failing case can be run again from its number. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let base: { historyDir: string; modelDir: string; id: string; json: string };

/** A history folder holding a copy of the base conversation (images hard-linked), with `json` as its file. */
function caseFolder(name: string, json: string | Buffer, id = base.id): { history: HistoryStore; historyDir: string; folder: string; logged: string[] } {
  const historyDir = join(dir, 'cases', name);
  const folder = join(historyDir, id);
  mkdirSync(join(folder, 'images'), { recursive: true });
  for (const f of readdirSync(join(base.historyDir, base.id, 'images'))) linkSync(join(base.historyDir, base.id, 'images', f), join(folder, 'images', f));
  writeFileSync(join(folder, 'conversation.json'), json);
  const logged: string[] = [];
  return { history: new HistoryStore(historyDir, base.modelDir, (m) => logged.push(m)), historyDir, folder, logged };
}

/** What every conversation the store hands out must satisfy, whatever its file said. */
function assertClean(data: ConversationData, id: string, folder: string, what: string): void {
  assert.equal(data.id, id, `${what}: the id is the folder's`);
  for (const t of data.turns) {
    assert.ok(['queued', 'streaming', 'done', 'stopped', 'error'].includes(t.status), `${what}: status ${t.status}`);
    assert.notEqual(t.status, 'streaming', `${what}: nothing comes back running`);
    for (const a of [...t.images, ...(t.target ? [t.target] : [])]) {
      assert.equal(dirname(a.path), join(folder, 'images'), `${what}: image ${a.path} is inside the conversation's images folder`);
      assert.ok(lstatSync(a.path).isFile(), `${what}: ${a.path} is a plain file`);
      assert.ok(a.model.modelPath.startsWith(base.modelDir + sep) && !a.model.modelPath.slice(base.modelDir.length + 1).includes(sep), `${what}: model copy ${a.model.modelPath} is in the model folder`);
      assert.ok(a.model.modelPath.slice(base.modelDir.length + 1).startsWith(`${a.id}.`), `${what}: the model copy is named after the image id`);
      assert.match(a.id, /^[\w-]+$/, `${what}: image id`);
    }
  }
}

before(async () => {
  const root = join(dir, 'base');
  const store = new AttachmentStore(join(root, 'attachments'));
  const conversation = new Conversation({ engine: () => engine, chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log: () => undefined });
  const a = await store.add(testPng(640, 480), 'first.png');
  const b = await store.add(testPng(300, 900, 'solid'), 'second.png', { crop: { x: 10, y: 20, width: 200, height: 300 } });
  await conversation.ask('Where is Save?', [a, b]);
  await conversation.ask('And now?');
  const historyDir = join(root, 'history');
  await new HistoryStore(historyDir, store.modelDir).save(conversation.snapshot());
  base = { historyDir, modelDir: store.modelDir, id: conversation.id, json: readFileSync(join(historyDir, conversation.id, 'conversation.json'), 'utf8') };
});

interface StoredShape {
  images: { id: string; file: string; model: { modelPath: string } }[];
}

/** The base file, parsed, changed by `edit`, written again. */
function edited(edit: (o: StoredShape) => void): string {
  const o = JSON.parse(base.json) as StoredShape;
  edit(o);
  return JSON.stringify(o);
}

describe('history: conversation files are untrusted', () => {
  it('the base conversation loads, its images inside its folder', async () => {
    const { history, folder } = caseFolder('base', base.json);
    const data = await history.load(base.id);
    assert.ok(data);
    assertClean(data, base.id, folder, 'base');
    assert.equal(data.turns[0]!.images.length, 2);
  });

  it('a file naming another id than its folder is refused, and not listed', async () => {
    const other = 'another-conversation';
    const { history, logged } = caseFolder('id-mismatch', base.json, other);
    assert.equal(await history.load(other), null);
    assert.deepEqual(await history.list(), []);
    assert.match(logged.join('\n'), /another-conversation\/conversation\.json says it is conversation ".*"; a conversation is the folder it is in/);
  });

  for (const file of ['..', '.', '../../../etc/passwd', '/etc/passwd', 'a/b.png', 'x\u0000.png', '.hidden', '']) {
    it(`an image file named ${JSON.stringify(file)} is refused`, async () => {
      const json = edited((o) => (o.images[0]!.file = file));
      const { history, logged } = caseFolder(`file-${Buffer.from(file).toString('hex')}`, json);
      assert.equal(await history.load(base.id), null);
      assert.match(logged.join('\n'), /at images\.0\.file: an image file is a plain name inside the conversation folder/);
    });
  }

  it('an image id that would name a file elsewhere is refused', async () => {
    const { history, logged } = caseFolder('image-id', edited((o) => (o.images[0]!.id = '../../escape')));
    assert.equal(await history.load(base.id), null);
    assert.match(logged.join('\n'), /at images\.0\.id/);
  });

  it('an image that is a symbolic link (to anywhere) is not used', async () => {
    const { history, folder, logged } = caseFolder('symlink', base.json);
    const file = (JSON.parse(base.json) as { images: { file: string }[] }).images[0]!.file;
    rmSync(join(folder, 'images', file));
    symlinkSync('/etc/passwd', join(folder, 'images', file));
    const data = (await history.load(base.id))!;
    assertClean(data, base.id, folder, 'symlink');
    assert.equal(data.turns[0]!.images.length, 1, 'only the real file is used');
    assert.match(logged.join('\n'), /is not a plain file; that image is skipped/);
  });

  it('model paths are rebuilt: a stored modelPath pointing anywhere is not used', async () => {
    const json = edited((o) => {
      for (const i of o.images) i.model.modelPath = '/etc/shadow';
    });
    const { history, folder } = caseFolder('model-path', json);
    const data = (await history.load(base.id))!;
    assertClean(data, base.id, folder, 'model-path');
    const stored = JSON.parse(base.json) as { images: { model: { modelPath: string } }[] };
    // The rebuilt paths are where the attachment store put the copies in the first place.
    assert.deepEqual(data.turns[0]!.images.map((a) => a.model.modelPath), stored.images.map((i) => i.model.modelPath));
    for (const a of data.turns[0]!.images) assert.ok(existsSync(a.model.modelPath), `${a.model.modelPath} exists`);
  });

  it('a file over the size cap is refused from its stat, before it is read', async () => {
    const { history, folder, logged } = caseFolder('huge', base.json);
    truncateSync(join(folder, 'conversation.json'), MAX_CONVERSATION_FILE_BYTES + 1);
    const started = performance.now();
    assert.equal(await history.load(base.id), null);
    assert.ok(performance.now() - started < 500, 'refused at once');
    assert.match(logged.join('\n'), /conversation\.json is 32\.0 MB; files over 32\.0 MB are refused/);
  });

  it('a conversation.json that is a FIFO or a folder is refused at once', async () => {
    for (const kind of ['fifo', 'folder']) {
      const { history, folder } = caseFolder(`kind-${kind}`, base.json);
      rmSync(join(folder, 'conversation.json'));
      if (kind === 'fifo') execFileSync('mkfifo', [join(folder, 'conversation.json')]);
      else mkdirSync(join(folder, 'conversation.json'));
      assert.equal(await history.load(base.id), null, kind);
      assert.deepEqual(await history.list(), [], kind);
    }
  });

  it('generated hostile files: each refused or loaded cleanly, in bounded time and memory', async () => {
    const CASES = 400;
    const rng = random(0x1e45);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const hostileValues = (): string[] => [
      JSON.stringify('x'.repeat(1 + Math.floor(rng() * 8 * 2 ** 20))),
      deep(1000 + Math.floor(rng() * 200_000)),
      '{"__proto__":{"polluted":true}}',
      '"../../../../etc/passwd"',
      '"/etc/passwd"',
      '"\\u0000"',
      '1e308',
      '-1',
      '9007199254740993',
      '0.5',
      'null',
      'true',
      '[]',
      '{}',
      `[${Array.from({ length: 1000 }, () => '"a"').join(',')}]`,
    ];
    /** Every JSON path of the base document, for replacing one value at a time. */
    const paths: (string | number)[][] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
      paths.push(path);
      if (Array.isArray(node)) node.forEach((x, i) => walk(x, [...path, i]));
      else if (node && typeof node === 'object') for (const [k, x] of Object.entries(node)) walk(x, [...path, k]);
    };
    walk(JSON.parse(base.json), []);

    function mutate(): { kind: string; text: string } {
      const kind = pick(['replace', 'replace', 'replace', 'flip', 'truncate', 'junk', 'delete', 'duplicate']);
      const text = base.json;
      switch (kind) {
        case 'flip': {
          const b = Buffer.from(text);
          for (let n = 1 + Math.floor(rng() * 8); n > 0; n--) b[Math.floor(rng() * b.length)] = Math.floor(rng() * 256);
          return { kind, text: b.toString('latin1') };
        }
        case 'truncate':
          return { kind, text: text.slice(0, Math.floor(rng() * text.length)) };
        case 'junk':
          return { kind, text: text + pick([' ', 'x', '{}', deep(10_000), '\u0000']) };
        case 'delete':
        case 'duplicate':
        case 'replace': {
          const path = pick(paths.slice(1));
          const o = JSON.parse(text) as Record<string, unknown>;
          type Node = Record<string | number, unknown> & unknown[];
          let parent = o as unknown as Node;
          for (const k of path.slice(0, -1)) parent = parent[k] as Node;
          const key = path.at(-1)!;
          const marker = 'HOSTILE-VALUE-7f3a';
          if (kind === 'delete') {
            if (Array.isArray(parent)) parent.splice(key as number, 1);
            else delete parent[key];
            return { kind: `delete ${path.join('.')}`, text: JSON.stringify(o) };
          }
          if (kind === 'duplicate' && Array.isArray(parent)) {
            parent.push(...Array.from({ length: 1 + Math.floor(rng() * 500) }, () => parent[key]));
            return { kind: `duplicate ${path.join('.')}`, text: JSON.stringify(o) };
          }
          parent[key] = marker;
          const value = pick(hostileValues());
          return { kind: `replace ${path.join('.')} with ${value.slice(0, 30)}`, text: JSON.stringify(o).replace(`"${marker}"`, () => value) };
        }
      }
      throw new Error(kind);
    }

    let refused = 0;
    let loaded = 0;
    let slowest = { ms: 0, kind: '' };
    let peakRss = 0;
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < CASES; i++) {
      const { kind, text } = mutate();
      const what = `case ${i} (${kind})`;
      const { history, historyDir, folder } = caseFolder(`fuzz-${i}`, text);
      const started = performance.now();
      const data = await history.load(base.id);
      const entries = await history.list();
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, kind: what };
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (data) {
        loaded++;
        assertClean(data, base.id, folder, what);
        assert.equal(entries.length, 1, `${what}: a loadable conversation is listed`);
        // What was loaded can be saved again and read back the same.
        await history.save(data);
        const again = await history.load(base.id);
        assert.ok(again, `${what}: saved again, it loads`);
        assert.deepEqual(again.turns.map((t) => t.answer), data.turns.map((t) => t.answer), `${what}: answers survive a save`);
      } else {
        refused++;
        assert.deepEqual(entries, [], `${what}: a refused conversation is not listed`);
      }
      rmSync(historyDir, { recursive: true, force: true });
    }
    const grewMiB = (peakRss - rssBefore) / 2 ** 20;
    console.log(`history fuzz: ${CASES} files, ${refused} refused, ${loaded} loaded; slowest ${slowest.ms.toFixed(0)} ms (${slowest.kind}); RSS grew at most ${grewMiB.toFixed(0)} MiB`);
    assert.ok(refused > 0 && loaded > 0, 'the mutations reach both outcomes');
    assert.ok(slowest.ms < 2000, `every file is refused or loaded within 2 s (slowest: ${slowest.kind}, ${slowest.ms.toFixed(0)} ms)`);
    assert.ok(grewMiB < 300, `memory stays bounded (${grewMiB.toFixed(0)} MiB)`);
  });
});
