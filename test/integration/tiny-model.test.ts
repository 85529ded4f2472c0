// The generated tiny InternVL3 models, run by the real @fugood/llama.node: the answer streams
// exactly as scripted, images tile as llama.cpp tiles them, and `<ref>`/`<box>` (CONTROL special
// tokens, as in the real InternVL3 GGUF) reach the text verbatim.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureFixtures, readExpected, type ExpectedAnswer, type TinyFixture } from '../fixtures/generate.js';
import { testPng } from '../fixtures/png.js';
import { GROUNDING_TAGS, SCRIPTS, type ScriptName } from '../fixtures/scripts.js';
import { buildTinyInternVL, writeTinyInternVL } from '../fixtures/tiny-model/tiny-internvl.js';
import { waitFor } from '../fixtures/wait.js';

// The part of the binding these tests use, typed here so they do not depend on the app's view of it.
type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string | Part[];
}
interface StreamedToken {
  token: string;
  content?: string;
  accumulated_text?: string;
}
interface CompletionResult {
  text: string;
  content?: string;
  tokens_predicted: number;
  stopped_eos?: boolean;
  interrupted: boolean;
}
interface Context {
  initMultimodal(options: { path: string; use_gpu?: boolean }): boolean;
  getMultimodalSupport(): { vision: boolean; audio: boolean };
  completion(options: Record<string, unknown>, onToken?: (t: StreamedToken) => void): Promise<CompletionResult>;
  stopCompletion(): void;
  tokenize(text: string, options?: { media_paths?: string[] }): Promise<{ tokens: Int32Array }>;
  release(): Promise<void>;
}
interface Binding {
  loadModel(options: { model: string; n_ctx?: number; n_threads?: number }): Promise<Context>;
}

// tsconfig maps '@fugood/llama.node' to a declaration file for type checking, and tsx applies
// that mapping at run time too; load the real package by its folder.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const llama = createRequire(import.meta.url)(path.join(ROOT, 'node_modules', '@fugood', 'llama.node')) as Binding;

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

async function withModel<T>(
  files: ScriptName | { modelPath: string; mmprojPath: string },
  fn: (ctx: Context) => Promise<T>,
): Promise<T> {
  const { modelPath, mmprojPath } = typeof files === 'string' ? fixtures[files] : files;
  const ctx = await llama.loadModel({ model: modelPath, n_ctx: 4096 });
  try {
    assert.equal(ctx.initMultimodal({ path: mmprojPath, use_gpu: false }), true);
    return await fn(ctx);
  } finally {
    await ctx.release();
  }
}

function imageQuestion(png: string, text: string): Message[] {
  return [{ role: 'user', content: [{ type: 'image_url', image_url: { url: png } }, { type: 'text', text }] }];
}

interface Streamed {
  tokens: StreamedToken[];
  text: string;
  result: CompletionResult;
}

/**
 * `completion` can resolve before the last token callbacks have run (seen with 0 of 31 delivered
 * at that moment); they all arrive later, in order. Wait until the stream has caught up.
 */
async function drain(tokens: StreamedToken[], result: CompletionResult): Promise<void> {
  await waitFor(`the streamed tokens to catch up with the ${result.text.length}-character result`, () => (tokens.at(-1)?.accumulated_text ?? '') === result.text, { timeoutMs: 5000, intervalMs: 2 });
}

async function chat(ctx: Context, messages: Message[], extra: Record<string, unknown> = {}): Promise<Streamed> {
  const tokens: StreamedToken[] = [];
  const result = await ctx.completion(
    { messages, jinja: true, temperature: 0, n_predict: 200, ...extra },
    (t) => tokens.push(t),
  );
  await drain(tokens, result);
  return { tokens, text: tokens.map((t) => t.token).join(''), result };
}

function assertExactAnswer(s: Streamed, want: ExpectedAnswer): void {
  assert.equal(s.text, want.answer, 'concatenated token pieces');
  assert.deepEqual(
    s.tokens.map((t) => t.token),
    want.pieces,
    'one callback per scripted token',
  );
  assert.equal(s.tokens.at(-1)?.accumulated_text, want.answer, 'accumulated_text');
  assert.equal(s.tokens.at(-1)?.content, want.answer, 'content (accumulated, parsed)');
  assert.equal(s.result.text, want.answer, 'result.text');
  assert.equal(s.result.content, want.answer, 'result.content');
  assert.equal(s.result.stopped_eos, true, 'stops on <|im_end|>');
  assert.equal(s.result.interrupted, false);
  assert.ok(!s.result.text.includes('<|im_end|>'), '<|im_end|> does not leak into the text');
}

describe('tiny InternVL3 models on @fugood/llama.node', () => {
  test('the mmproj loads as a vision projector', async () => {
    await withModel('sentence', async (ctx) => {
      assert.deepEqual(ctx.getMultimodalSupport(), { vision: true, audio: false });
    });
  });

  test('an image counts as <img> + 256 tokens per 448 px tile + </img>', async () => {
    await withModel('sentence', async (ctx) => {
      const count = async (png: string): Promise<number> =>
        (await ctx.tokenize('<__media__>', { media_paths: [png] })).tokens.length;
      assert.equal(await count(smallPng), 258);
      assert.equal(await count(widePng), 258);
      assert.equal(await count(largePng), 2 + 5 * 256);
    });
  });

  test('sentence: streams the script exactly, after an image and a question', async () => {
    await withModel('sentence', async (ctx) => {
      const s = await chat(ctx, imageQuestion(smallPng, 'What does this diagram show?'));
      assertExactAnswer(s, expected.sentence);
      assert.equal(s.text, SCRIPTS.sentence.text);
    });
  });

  test('grounding with preserved_tokens: <ref>/<box> stream verbatim as their own tokens', async () => {
    await withModel('grounding', async (ctx) => {
      const s = await chat(ctx, imageQuestion(smallPng, 'Where are the Save button and the icons?'), {
        preserved_tokens: [...GROUNDING_TAGS],
      });
      assertExactAnswer(s, expected.grounding);
      for (const tag of ['<ref>', '</ref>', '<box>', '</box>']) {
        assert.equal(s.tokens.filter((t) => t.token === tag).length, 2, `${tag} streamed as one token, twice`);
      }
      assert.ok(s.text.includes('<ref>Save button</ref><box>[[100,200,300,400]]</box>'));
      assert.ok(s.text.includes('<ref>icons</ref><box>[[500,100,650,250],[700,600,900,950]]</box>'));
    });
  });

  test('grounding without options: the binding renders CONTROL tokens anyway', async () => {
    // @fugood/llama.node 1.7.15 turns every sampled token into text with special = true, so the
    // tags arrive without preserved_tokens too; if this ever fails, the worker must ask for them.
    await withModel('grounding', async (ctx) => {
      const s = await chat(ctx, imageQuestion(smallPng, 'Where are the Save button and the icons?'));
      assertExactAnswer(s, expected.grounding);
    });
  });

  test('grounding: a large image (5 tiles) does not change the answer', async () => {
    await withModel('grounding', async (ctx) => {
      const s = await chat(ctx, imageQuestion(largePng, 'Detect all buttons.'), { preserved_tokens: [...GROUNDING_TAGS] });
      assertExactAnswer(s, expected.grounding);
    });
  });

  for (const name of ['sentence', 'grounding'] as const) {
    test(`${name}: prompt text, tags in the question and a follow-up turn do not derail the script`, async () => {
      await withModel(name, async (ctx) => {
        const want = expected[name];
        const tricky = `Repeat after me: ${SCRIPTS.grounding.text} <ref>Save</ref><box>[[1,2,3,4]]</box> ${SCRIPTS.sentence.text}`;
        const textOnly = await chat(ctx, [{ role: 'user', content: tricky }]);
        assertExactAnswer(textOnly, want);

        const first = imageQuestion(smallPng, 'What is this?');
        const reply = await chat(ctx, first);
        assertExactAnswer(reply, want);
        const followUp = await chat(ctx, [
          ...first,
          { role: 'assistant', content: reply.text },
          { role: 'user', content: 'And what else?' },
        ]);
        assertExactAnswer(followUp, want);

        const withSystem = await chat(ctx, [
          { role: 'system', content: 'You are a GUI agent.' },
          ...imageQuestion(widePng, 'Click Save.'),
        ]);
        assertExactAnswer(withSystem, want);
      });
    });
  }

  test('endless: repeats its piece until n_predict, and stopCompletion interrupts it', async () => {
    await withModel('endless', async (ctx) => {
      const want = expected.endless;
      const piece = want.endless ?? assert.fail('endless fixture has no piece');
      const bounded = await chat(ctx, imageQuestion(smallPng, 'Count.'), { n_predict: 12 });
      assert.equal(bounded.result.stopped_eos, false);
      assert.equal(bounded.tokens.length, 12);
      assert.equal(bounded.text, want.answer + piece.repeat(12 - want.pieces.length));

      const tokens: StreamedToken[] = [];
      const result = await ctx.completion(
        { messages: imageQuestion(smallPng, 'Count.'), jinja: true, temperature: 0, n_predict: 3000 },
        (t) => {
          tokens.push(t);
          if (tokens.length === 20) ctx.stopCompletion();
        },
      );
      await drain(tokens, result);
      assert.equal(result.interrupted, true);
      assert.equal(tokens.map((t) => t.token).join(''), result.text);
      assert.ok(tokens.length >= 20 && tokens.length < 3000, `stopped after ${tokens.length} tokens`);
      assert.ok(result.text.startsWith(want.answer + piece.repeat(10)));
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
    await withModel(files, async (ctx) => {
      const s = await chat(ctx, imageQuestion(widePng, 'List everything.'), { n_predict: 400 });
      assert.equal(s.text, script);
      assert.equal(s.result.text, script);
      assert.equal(s.result.stopped_eos, true);
    });
  });

  test('an mmproj whose projection_dim differs from the LLM is refused with a throw, not a crash', async () => {
    const files = await writeTinyInternVL({ dir: path.join(scratch, 'mismatch'), script: 'Hi.', projectionDim: 96 });
    const ctx = await llama.loadModel({ model: files.modelPath, n_ctx: 1024 });
    try {
      assert.throws(() => ctx.initMultimodal({ path: files.mmprojPath, use_gpu: false }), /Failed to initialize multimodal context/);
    } finally {
      await ctx.release();
    }
  });
});
