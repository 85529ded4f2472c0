// The generated tiny InternVL3 models, run by the real llama-server (the test build of the
// bundled llama.cpp): the answer streams exactly as scripted, images tile as llama.cpp tiles
// them, and `<ref>`/`<box>` (CONTROL special tokens, as in the real InternVL3 GGUF) reach the
// text verbatim with --special.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EngineError } from '../../src/engine/errors';
import { ensureFixtures, readExpected, type ExpectedAnswer, type TinyFixture } from '../fixtures/generate.js';
import { testPng } from '../fixtures/png.js';
import { SCRIPTS, type ScriptName } from '../fixtures/scripts.js';
import { buildTinyInternVL, writeTinyInternVL } from '../fixtures/tiny-model/tiny-internvl.js';
import { type Message, type Streamed, TinyServer } from './tinyServer';

let fixtures: Record<ScriptName, TinyFixture>;
let expected: Record<ScriptName, ExpectedAnswer>;
let scratch: string;
let smallPng: string; // 64×64: one tile
let widePng: string; // 200×100: one tile
let largePng: string; // 800×600: 2×2 tiles + thumbnail

before(async () => {
  fixtures = await ensureFixtures();
  expected = {
    sentence: await readExpected(fixtures.sentence),
    grounding: await readExpected(fixtures.grounding),
    endless: await readExpected(fixtures.endless),
    video: await readExpected(fixtures.video),
  };
  scratch = await mkdtemp(path.join(tmpdir(), 'tiny-model-test-'));
  smallPng = path.join(scratch, 'small.png');
  widePng = path.join(scratch, 'wide.png');
  largePng = path.join(scratch, 'large.png');
  await writeFile(smallPng, testPng(64, 64));
  await writeFile(widePng, testPng(200, 100, 'solid'));
  await writeFile(largePng, testPng(800, 600));
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function withModel<T>(files: ScriptName | { modelPath: string; mmprojPath: string }, fn: (server: TinyServer) => Promise<T>): Promise<T> {
  const server = await TinyServer.start(typeof files === 'string' ? fixtures[files] : files);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

function imageQuestion(png: string, text: string): Message[] {
  return [{ role: 'user', content: [{ type: 'image_url', image_url: { url: png } }, { type: 'text', text }] }];
}

function assertExactAnswer(s: Streamed, want: ExpectedAnswer): void {
  assert.equal(s.text, want.answer, 'concatenated token pieces');
  assert.deepEqual(s.pieces, want.pieces, 'one delta per scripted token');
  assert.equal(s.finish, 'stop', 'stops on <|im_end|>');
  assert.equal(s.endOfTurn, true, '--special prints the closing <|im_end|> (the engine strips it)');
  assert.ok(!s.text.includes('<|im_end|>'), 'nothing after it');
}

describe('tiny InternVL3 models on llama-server', () => {
  test('the mmproj loads as a vision projector (/props modalities)', async () => {
    await withModel('sentence', async (server) => {
      const { modalities } = await server.props();
      assert.equal(modalities.vision, true);
      assert.equal(modalities.audio, false);
    });
  });

  test('without the mmproj the server says it cannot see', async () => {
    const server = await TinyServer.start({ modelPath: fixtures.sentence.modelPath, mmprojPath: null });
    try {
      assert.equal((await server.props()).modalities.vision, false);
    } finally {
      await server.stop();
    }
  });

  test('an image counts as <img> + 256 tokens per 448 px tile + </img>', async () => {
    await withModel('sentence', async (server) => {
      assert.equal(await server.imageTokens(smallPng), 258);
      assert.equal(await server.imageTokens(widePng), 258);
      assert.equal(await server.imageTokens(largePng), 2 + 5 * 256);
    });
  });

  test('sentence: streams the script exactly, after an image and a question', async () => {
    await withModel('sentence', async (server) => {
      const s = await server.chat(imageQuestion(smallPng, 'What does this diagram show?'));
      assertExactAnswer(s, expected.sentence);
      assert.equal(s.text, SCRIPTS.sentence.text);
    });
  });

  test('grounding: <ref>/<box> stream verbatim as their own tokens', async () => {
    await withModel('grounding', async (server) => {
      const s = await server.chat(imageQuestion(smallPng, 'Where are the Save button and the icons?'));
      assertExactAnswer(s, expected.grounding);
      for (const tag of ['<ref>', '</ref>', '<box>', '</box>']) {
        assert.equal(s.pieces.filter((t) => t === tag).length, 2, `${tag} streamed as one token, twice`);
      }
      assert.ok(s.text.includes('<ref>Save button</ref><box>[[100,200,300,400]]</box>'));
      assert.ok(s.text.includes('<ref>icons</ref><box>[[500,100,650,250],[700,600,900,950]]</box>'));
    });
  });

  test('grounding: a large image (5 tiles) does not change the answer', async () => {
    await withModel('grounding', async (server) => {
      assertExactAnswer(await server.chat(imageQuestion(largePng, 'Detect all buttons.')), expected.grounding);
    });
  });

  for (const name of ['sentence', 'grounding'] as const) {
    test(`${name}: prompt text, tags in the question and a follow-up turn do not derail the script`, async () => {
      await withModel(name, async (server) => {
        const want = expected[name];
        const tricky = `Repeat after me: ${SCRIPTS.grounding.text} <ref>Save</ref><box>[[1,2,3,4]]</box> ${SCRIPTS.sentence.text}`;
        assertExactAnswer(await server.chat([{ role: 'user', content: tricky }]), want);

        const first = imageQuestion(smallPng, 'What is this?');
        const reply = await server.chat(first);
        assertExactAnswer(reply, want);
        const followUp = await server.chat([...first, { role: 'assistant', content: reply.text }, { role: 'user', content: 'And what else?' }]);
        assertExactAnswer(followUp, want);

        const withSystem = await server.chat([{ role: 'system', content: 'You are a GUI agent.' }, ...imageQuestion(widePng, 'Click Save.')]);
        assertExactAnswer(withSystem, want);
      });
    });
  }

  test('endless: repeats its piece until max_tokens, and closing the stream stops it', async () => {
    await withModel('endless', async (server) => {
      const want = expected.endless;
      const piece = want.endless ?? assert.fail('endless fixture has no piece');
      const bounded = await server.chat(imageQuestion(smallPng, 'Count.'), { max_tokens: 12 });
      assert.equal(bounded.finish, 'length');
      assert.equal(bounded.pieces.length, 12);
      assert.equal(bounded.text, want.answer + piece.repeat(12 - want.pieces.length));

      const stopped = await server.chat(imageQuestion(smallPng, 'Count.'), { max_tokens: 3000 }, (_, n) => n === 20);
      assert.equal(stopped.finish, null, 'no finish: the client closed the stream');
      assert.ok(stopped.pieces.length >= 20 && stopped.pieces.length < 3000, `stopped after ${stopped.pieces.length} tokens`);
      assert.ok(stopped.text.startsWith(want.answer + piece.repeat(10)));
      // The slot is free again: the next request is answered.
      const next = await server.chat(imageQuestion(smallPng, 'Count.'), { max_tokens: 5 });
      assert.equal(next.pieces.length, 5);
    });
  });
});

describe('tiny model generator', () => {
  test('builds byte-identical files for the same script', () => {
    const a = buildTinyInternVL({ script: SCRIPTS.grounding.text });
    const b = buildTinyInternVL({ script: SCRIPTS.grounding.text });
    assert.ok(a.llm.equals(b.llm) && a.mmproj.equals(b.mmproj));
    assert.equal(a.pieces.join(''), SCRIPTS.grounding.text);
    assert.equal(a.tokenIds.filter((id) => id === a.specialIds['<ref>']).length, 2);
  });

  test('refuses a script whose next token cannot be told from the current state', () => {
    assert.throws(() => buildTinyInternVL({ script: '<ref>x</ref><ref>x</ref>' }), /ambiguous/);
    assert.throws(() => buildTinyInternVL({ script: 'hi<|im_end|>' }), /must not contain/);
  });

  test('a longer custom answer grows the model and still streams exactly', async () => {
    const regions = Array.from(
      { length: 12 },
      (_, i) => `<ref>item ${i}</ref><box>[[${i * 10},${i * 20},${i * 30 + 5},${i * 40 + 7}]]</box>`,
    );
    const script = `I found twelve things, top to bottom:\n${regions.join('\n')}\nThat is all.`;
    const files = await writeTinyInternVL({
      dir: path.join(scratch, 'custom'),
      script,
      llmName: 'llm.gguf',
      mmprojName: 'projector.gguf',
    });
    assert.equal(path.basename(files.modelPath), 'llm.gguf');
    assert.equal(path.basename(files.mmprojPath), 'projector.gguf');
    await withModel(files, async (server) => {
      const s = await server.chat(imageQuestion(widePng, 'List everything.'), { max_tokens: 400 });
      assert.equal(s.text, script);
      assert.equal(s.finish, 'stop');
    });
  });

  test('an mmproj whose projection_dim differs from the LLM is refused with an error exit, not a crash', async () => {
    const files = await writeTinyInternVL({ dir: path.join(scratch, 'mismatch'), script: 'Hi.', projectionDim: 96 });
    const err = await TinyServer.start(files).then(
      (s) => s.stop().then(() => assert.fail('the server loaded a mismatched pair')),
      (e: unknown) => e,
    );
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.code, 'load-failed');
    assert.match(err.message, /mmproj|multimodal|projector|embd/i);
  });
});
