// The local engine end to end below the UI: the real llama-server (this machine's build of the
// bundled llama.cpp source), the generated tiny InternVL models.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalEngine, type LocalEngineOptions, type LocalModelSettings } from '../../src/engine/local/localEngine';
import { createClient } from '../../src/engine/openai/client';
import type { EngineState } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import type { ChatTurn } from '../../src/engine/engine';
import { parseRegions } from '../../src/grounding';
import { prepareForModel } from '../../src/images';
import { encodePng, solidImage, testPng } from '../fixtures/png';
import { waitFor } from '../fixtures/wait';
import { SERVER_LOG_BYTES } from '../../src/engine/local/llamaServer';
import { testLlamaServer, tinyModel } from './support';

const scratch = mkdtempSync(join(tmpdir(), 'lens-engine-'));
const rawPng = join(scratch, 'diagram.png');
writeFileSync(rawPng, encodePng(320, 200, solidImage(320, 200, [40, 120, 200, 255])));
const rawLargePng = join(scratch, 'screenshot.png');
writeFileSync(rawLargePng, encodePng(800, 600, solidImage(800, 600, [200, 200, 200, 255])));
// The engine gets images already on InternVL's reference grid, as the chat and the CLI send them:
// the diagram at 1 tile (258 tokens), the screenshot at 2×2 tiles + thumbnail (1282 tokens).
let png = '';
let largePng = '';
before(async () => {
  png = (await prepareForModel(rawPng, { outDir: scratch, key: 'diagram', maxTiles: 1 })).modelPath;
  largePng = (await prepareForModel(rawLargePng, { outDir: scratch, key: 'screenshot', maxTiles: 4 })).modelPath;
});

function engineWith(settings: Partial<LocalModelSettings>, logs: string[] = [], extra: Partial<LocalEngineOptions> = {}) {
  const grounding = tinyModel('grounding');
  return new LocalEngine({
    server: testLlamaServer,
    settings: () => ({ modelPath: grounding.modelPath, mmprojPath: grounding.mmprojPath, contextSize: 4096, gpuLayers: 0, threads: 2, idleUnloadMinutes: 0, ...settings }),
    log: (level, m) => logs.push(`${level}: ${m}`),
    ...extra,
  });
}

function endlessEngine(settings: Partial<LocalModelSettings> = {}, extra: Partial<LocalEngineOptions> = {}) {
  const endless = tinyModel('endless');
  return engineWith({ modelPath: endless.modelPath, mmprojPath: endless.mmprojPath, ...settings }, [], extra);
}

const ask = (text: string, images: string[] = [png]): ChatTurn[] => [{ role: 'user', text, images: images.map((path) => ({ path })) }];
const options = { maxTokens: 256, temperature: 0 };

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('LocalEngine on the tiny grounding model', () => {
  const engine = engineWith({});
  after(() => engine.dispose());

  it('streams the scripted answer token by token, with stats, tags kept and no end-of-turn token', async () => {
    const chunks: string[] = [];
    const outcome = await engine.chat(ask('Where is the Save button?'), options, (t) => chunks.push(t));
    const expected = tinyModel('grounding').answer;
    // llama-server streams one delta per token; --special keeps <ref>/<box>, and the closing
    // <|im_end|> it then prints is held back and dropped.
    assert.equal(chunks[0], 'Here', 'the first chunk is the first token');
    assert.ok(chunks.length >= outcome.stats.generatedTokens - 1, `streamed in ${chunks.length} chunks for ${outcome.stats.generatedTokens} tokens`);
    assert.equal(chunks.join(''), expected);
    assert.equal(outcome.text, expected);
    assert.doesNotMatch(outcome.text, /<\|im_end\|>/);
    assert.equal(parseRegions(outcome.text).length, 3);
    assert.ok(outcome.stats.promptTokens! >= 258, `prompt includes the image's 256 tokens (${outcome.stats.promptTokens})`);
    assert.equal(outcome.stats.imageTokens, 258, 'one tile: <img> + 256 + </img>');
    assert.equal(outcome.stats.imagesEncoded, true);
    assert.ok(outcome.stats.timeToFirstTokenMs !== null && outcome.stats.timeToFirstTokenMs > 0);
    assert.ok(outcome.stats.tokensPerSecond > 0);
    assert.equal(engine.state.kind, 'ready');
  });

  it('sends several images of one turn numbered Image-1, Image-2, each encoded', async () => {
    const outcome = await engine.chat(ask('Compare the two images.', [png, largePng]), options, () => undefined);
    assert.equal(outcome.text, tinyModel('grounding').answer);
    assert.equal(outcome.stats.imageTokens, 258 + 1282, 'both images: 1 tile and 2×2 + thumbnail');
    // "Image-1: " and "\nImage-2: " are text the prompt carries besides the question.
    const single = await engine.chat(ask('Compare the two images.', [png]), options, () => undefined);
    assert.ok(outcome.stats.contextTokens! - outcome.stats.imageTokens > single.stats.contextTokens! - single.stats.imageTokens, 'the numbering is in the prompt');
  });

  it('answers a follow-up about the same image from the KV cache, without re-encoding it', async (t) => {
    const expected = tinyModel('grounding').answer;
    const first = await engine.chat(ask('What is on this screenshot?', [largePng]), options, () => undefined);
    assert.equal(first.stats.imageTokens, 1282);
    assert.equal(first.stats.imagesEncoded, true);
    const followUp: ChatTurn[] = [
      ...ask('What is on this screenshot?', [largePng]),
      { role: 'assistant', text: first.text, images: [] },
      { role: 'user', text: 'Where is the Save button?', images: [] },
    ];
    const second = await engine.chat(followUp, options, () => undefined);
    assert.equal(second.text, expected);
    const s = second.stats;
    assert.equal(s.imagesEncoded, false, 'the image was not encoded again');
    assert.equal(s.imageEncodeMs, 0);
    assert.equal(s.kvReused, true);
    assert.equal(s.imageTokens, 1282);
    assert.ok(s.reusedTokens! >= first.stats.contextTokens! - 2, `reused ${s.reusedTokens} of the first turn's ${first.stats.contextTokens}`);
    t.diagnostic(`first turn: ${first.stats.promptTokens} evaluated, ${first.stats.timeToFirstTokenMs?.toFixed(0)} ms to first token; follow-up: ${s.promptTokens} evaluated (cache_n ${s.reusedTokens}), ${s.timeToFirstTokenMs?.toFixed(0)} ms`);
    assert.ok(s.promptTokens! * 10 < first.stats.promptTokens!, `follow-up evaluated ${s.promptTokens} prompt tokens, first turn ${first.stats.promptTokens}`);
  });

  it('adding a second image to the conversation encodes only that image (the first comes from the cache)', async (t) => {
    const first = await engine.chat(ask('What is on this screenshot?', [largePng]), options, () => undefined);
    const withSecond: ChatTurn[] = [
      ...ask('What is on this screenshot?', [largePng]),
      { role: 'assistant', text: first.text, images: [] },
      { role: 'user', text: 'And on this one?', images: [{ path: png }] },
    ];
    const second = await engine.chat(withSecond, options, () => undefined);
    const s = second.stats;
    assert.equal(s.imageTokens, 1282 + 258, 'both images are in the prompt');
    assert.equal(s.imagesEncoded, true, 'the new image was encoded');
    // cache_n from llama-server's timings: all of turn 1's prompt came from the cache ...
    assert.ok(s.reusedTokens! >= first.stats.contextTokens! - 2, `reused ${s.reusedTokens} of turn 1's ${first.stats.contextTokens}`);
    // ... so what was evaluated is image 2 (258 tokens) and the text around it, not image 1's 1282.
    t.diagnostic(`turn 1: ${first.stats.contextTokens} prompt tokens; with image 2: ${s.contextTokens} tokens, cache_n ${s.reusedTokens}, evaluated ${s.promptTokens}`);
    assert.ok(s.promptTokens! >= 258 && s.promptTokens! < 258 + 200, `evaluated ${s.promptTokens} prompt tokens`);
  });

  it('refuses a missing image before the server sees it, and keeps working', async () => {
    const missing = join(scratch, 'deleted.png');
    const err = await rejection(engine.chat(ask('What is this?', [missing]), options, () => undefined));
    assert.equal(err.code, 'bad-request');
    assert.equal(err.message, 'The image deleted.png cannot be read (ENOENT).');
    const outcome = await engine.chat(ask('And this one?'), options, () => undefined);
    assert.equal(outcome.text, tinyModel('grounding').answer);
  });

  it('refuses a turn that does not fit the context, with numbers, and keeps working', async () => {
    const small = engineWith({ contextSize: 1024 });
    try {
      const err = await rejection(small.chat(ask('What is this?', [largePng]), options, () => undefined));
      assert.equal(err.code, 'context-overflow');
      assert.equal(err.setting, 'internvlLens.contextSize');
      assert.match(err.message, /This turn needs 1\d{3} tokens \(1282 of them for the image\), but the context holds 1024: use a smaller image \(fewer tiles, internvlLens\.maxTiles\), start a new chat, or raise internvlLens\.contextSize\./);
      assert.equal(small.state.kind, 'ready', 'the model stays loaded');
      const outcome = await small.chat(ask('And this one?'), options, () => undefined);
      assert.equal(outcome.text, tinyModel('grounding').answer);
    } finally {
      await small.dispose();
    }
  });

  it('fails the answer within 1 s when llama-server is killed mid-answer, and the next question restarts it', async () => {
    const endless = tinyModel('endless');
    const engine = engineWith({ modelPath: endless.modelPath, mmprojPath: endless.mmprojPath });
    try {
      let killedAt = 0;
      let pid: number | undefined;
      const err = await rejection(
        engine.chat(ask('Count forever'), { maxTokens: 1_000_000, temperature: 0 }, () => {
          if (!killedAt) {
            pid = engine.serverPid;
            killedAt = performance.now();
            process.kill(pid!, 'SIGKILL');
          }
        }),
      );
      assert.equal(err.code, 'worker-crashed');
      assert.ok(performance.now() - killedAt < 1000, 'the request failed within 1 s of the crash');
      assert.match(err.message, /stopped unexpectedly \(killed by SIGKILL\)/);
      assert.equal(engine.state.kind, 'error');
      const outcome = await engine.chat(ask('And now?'), { maxTokens: 5, temperature: 0 }, () => undefined);
      assert.ok(outcome.text.startsWith(endless.answer), outcome.text);
      assert.notEqual(engine.serverPid, pid, 'a new server answered');
    } finally {
      await engine.dispose();
    }
  });
});

describe('LocalEngine stops, queues and manages its llama-server', () => {
  // One slot: a second request waits for the first.
  const engine = endlessEngine({}, { parallel: 1 });
  after(() => engine.dispose());
  const forever = { maxTokens: 100_000, temperature: 0 };

  it('stops mid-stream: no token arrives after the stop, and the next request works', async () => {
    const abort = new AbortController();
    let afterStop = 0;
    let received = 0;
    const outcome = await engine.chat(ask('Count forever'), forever, (_text, tokens) => {
      if (abort.signal.aborted) afterStop++;
      received += tokens ?? 1;
      if (received >= 20 && !abort.signal.aborted) abort.abort();
    }, abort.signal);
    assert.equal(outcome.stats.interrupted, true);
    assert.equal(afterStop, 0, 'tokens after the stop');
    assert.ok(outcome.stats.generatedTokens < 1000, `stopped after ${outcome.stats.generatedTokens} tokens`);
    const next = await engine.chat(ask('Again'), { maxTokens: 6, temperature: 0 }, () => undefined);
    assert.ok(next.text.startsWith(tinyModel('endless').answer), next.text);
    assert.equal(next.stats.interrupted, false);
  });

  it('queues a second request behind the running one and reports it as queued', async () => {
    const states: EngineState[] = [];
    const sub = engine.onDidChangeState((s) => states.push(s));
    const order: string[] = [];
    const firstAbort = new AbortController();
    let firstTokens = 0;
    const first = engine.chat(ask('First'), forever, () => {
      if (++firstTokens === 30) firstAbort.abort();
    }, firstAbort.signal).then(() => order.push('first'));
    const skipped = new AbortController();
    const second = engine.chat(ask('Second'), { maxTokens: 5, temperature: 0 }, () => undefined).then((o) => {
      order.push('second');
      return o;
    });
    const third = engine.chat(ask('Third, stopped while waiting'), forever, () => assert.fail('a stopped queued request must not run'), skipped.signal);
    skipped.abort();
    const [, secondOutcome, thirdOutcome] = await Promise.all([first, second, third]);
    sub.dispose();
    assert.deepEqual(order, ['first', 'second']);
    assert.ok(secondOutcome.text.startsWith(tinyModel('endless').answer), secondOutcome.text);
    assert.equal(thirdOutcome.stats.interrupted, true);
    assert.equal(thirdOutcome.text, '');
    assert.ok(states.some((s) => s.kind === 'busy' && s.queued === 2), `states: ${JSON.stringify(states.map((s) => s.kind === 'busy' ? `busy+${s.queued}` : s.kind))}`);
    assert.equal(engine.state.kind, 'ready');
  });

  it('answers two requests at once on two slots of one server', async () => {
    const two = endlessEngine({}, { parallel: 2 });
    try {
      await two.load();
      const aborts = [new AbortController(), new AbortController()];
      const tokens = [0, 0];
      // Each answer stops only once both have streamed: they ran at the same time.
      const run = (i: number) =>
        two.chat(ask(`Request ${i}`), forever, () => {
          tokens[i]!++;
          if (tokens[0]! >= 10 && tokens[1]! >= 10) for (const a of aborts) a.abort();
        }, aborts[i]!.signal);
      const outcomes = await Promise.race([
        Promise.all([run(0), run(1)]),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after 60 s waiting for both answers to stream (tokens ${tokens.join(', ')})`)), 60_000)),
      ]);
      for (const o of outcomes) assert.equal(o.stats.interrupted, true);
      assert.ok(tokens[0]! >= 10 && tokens[1]! >= 10, `tokens ${tokens.join(', ')}`);
    } finally {
      await two.dispose();
    }
  });

  it('keeps only the last part of the server log', async () => {
    const running = engine.server;
    assert.ok(running, 'the server runs');
    assert.match(running.log.text(), /model loaded/);
    assert.ok(running.log.size <= SERVER_LOG_BYTES, `log holds ${running.log.size} characters`);
  });

  it('unloads after the idle time and loads again on the next request', async () => {
    const idle = endlessEngine({ idleUnloadMinutes: 0.3 / 60 });
    try {
      await idle.chat(ask('Hi'), { maxTokens: 3, temperature: 0 }, () => undefined);
      const pid = idle.serverPid;
      assert.ok(pid);
      await waitFor('the idle unload (0.3 s)', () => idle.state.kind === 'idle', { timeoutMs: 5000, intervalMs: 10 });
      assert.equal(idle.serverPid, undefined, 'the server was ended');
      assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the process is gone');
      await idle.chat(ask('Hi again'), { maxTokens: 3, temperature: 0 }, () => undefined);
      assert.notEqual(idle.serverPid, pid);
    } finally {
      await idle.dispose();
    }
  });

  it('loads on request, waits longer before each restart after repeated crashes, then gives up until Restart', async () => {
    const logs: string[] = [];
    const endless = tinyModel('endless');
    const crashy = engineWith({ modelPath: endless.modelPath, mmprojPath: endless.mmprojPath }, logs, { restartBackoffMs: 400, maxCrashes: 3 });
    try {
      const states: EngineState[] = [];
      crashy.onDidChangeState((s) => states.push(s));
      const model = await crashy.load();
      assert.equal(model.modelName, 'tiny-internvl3-endless');
      assert.match(model.backend, /^llama-server: test build/);
      assert.equal(model.vision, true, 'from /props modalities');
      assert.equal(states[0]?.kind, 'loading');
      assert.ok(states.some((s) => s.kind === 'loading' && s.progress === 1), 'progress reached 100 %');
      assert.equal(states.at(-1)?.kind, 'ready');
      const crash = async () => {
        const pid = crashy.serverPid!;
        process.kill(pid, 'SIGKILL');
        await waitFor(`the engine to report llama-server ${pid} gone`, () => crashy.state.kind === 'error', { timeoutMs: 1000, intervalMs: 10 });
      };
      const timed = async () => {
        const t = performance.now();
        await crashy.chat(ask('Hi'), { maxTokens: 2, temperature: 0 }, () => undefined);
        return performance.now() - t;
      };
      const backoffLogs = () => logs.filter((l) => l.includes('restarting in'));
      await crash();
      await timed();
      assert.deepEqual(backoffLogs(), [], 'the first crash restarts at once');
      await crash();
      const afterTwo = await timed();
      assert.equal(backoffLogs().length, 1);
      assert.match(backoffLogs()[0]!, /crashed 2 times in a minute: restarting in 0\.[1-4] s/);
      assert.ok(afterTwo >= 300, `second restart took ${afterTwo.toFixed(0)} ms`);
      await crash();
      const err = await rejection(crashy.chat(ask('Hi'), { maxTokens: 2, temperature: 0 }, () => undefined));
      assert.equal(err.code, 'worker-crashed');
      assert.match(err.message, /crashed 3 times within a minute, so it is not started again/);
      assert.equal(crashy.serverPid, undefined, 'no server was started');
      await crashy.restart();
      assert.ok(crashy.serverPid, 'Restart starts it again');
    } finally {
      await crashy.dispose();
    }
  });
});

describe('LocalEngine refuses bad model settings before loading anything', () => {
  it('says which setting to fill when no model is set', async () => {
    const engine = engineWith({ modelPath: '' });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-not-configured');
    assert.equal(err.setting, 'internvlLens.modelPath');
    assert.equal(engine.serverPid, undefined, 'no server was started');
    await engine.dispose();
  });

  it('names a missing file and its setting', async () => {
    const missing = join(scratch, 'nope', 'model.gguf');
    const engine = engineWith({ mmprojPath: missing });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-file-missing');
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.ok(err.message.includes(missing));
    await engine.dispose();
  });

  it('refuses a file that is not GGUF', async () => {
    const notGguf = join(scratch, 'model.gguf');
    writeFileSync(notGguf, 'this is not a model');
    const engine = engineWith({ modelPath: notGguf });
    const err = await rejection(engine.chat(ask('hi'), options, () => undefined));
    assert.equal(err.code, 'model-file-invalid');
    assert.match(err.message, /is not a GGUF file/);
    await engine.dispose();
  });

  it('tells a text-only setup (the server says it cannot see) to add the mmproj file before sending the image, and still answers text', async () => {
    const logs: string[] = [];
    const engine = engineWith({ mmprojPath: '' }, logs);
    const err = await rejection(engine.chat(ask('What is this?'), options, () => undefined));
    assert.equal(err.code, 'no-vision');
    assert.equal(err.setting, 'internvlLens.mmprojPath');
    assert.match(err.message, /This model cannot see images/);
    assert.equal(engine.state.kind, 'ready', 'the server runs: /props said vision false');
    const outcome = await engine.chat(ask('Just text', []), options, () => undefined);
    assert.equal(outcome.text, tinyModel('grounding').answer);
    await engine.dispose();
  });
});

describe('LocalEngine turns on a loaded model', () => {
  it('go straight to the server while the settings are unchanged; a changed setting checks the files again', async () => {
    const grounding = tinyModel('grounding');
    const modelPath = join(scratch, 'moved-model.gguf');
    copyFileSync(grounding.modelPath, modelPath);
    let contextSize = 4096;
    const settings = { modelPath, mmprojPath: grounding.mmprojPath, gpuLayers: 0, threads: 2, idleUnloadMinutes: 0 };
    const loaded = new LocalEngine({ server: testLlamaServer, settings: () => ({ ...settings, contextSize }), log: () => undefined });
    after(() => loaded.dispose());
    await loaded.load();
    const pid = loaded.serverPid;
    // The loaded model lives in the server: a file gone from disk does not matter to it, and no
    // per-turn re-check of the files stands between the question and the first token.
    renameSync(modelPath, `${modelPath}.gone`);
    const outcome = await loaded.chat(ask('Where is the Save button?'), options, () => undefined);
    assert.equal(outcome.text, grounding.answer);
    assert.equal(loaded.serverPid, pid, 'the same server answered');
    contextSize = 2048;
    const err = await rejection(loaded.chat(ask('again'), options, () => undefined));
    assert.equal(err.code, 'model-file-missing', 'a new configuration is checked before any native load');
    assert.ok(err.message.includes(modelPath));
  });
});

describe("LocalEngine's connections to its llama-server", () => {
  it('asks for a new connection every request (Connection: close), as a real HTTP server sees it', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.connection);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.end('data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (const closeConnections of [true, false]) {
        const client = await createClient({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k', timeoutMs: 10_000, closeConnections });
        const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], stream: true });
        for await (const chunk of stream) void chunk;
      }
      assert.deepEqual(seen, ['close', 'keep-alive']);
    } finally {
      server.close();
    }
  });

  it('image follow-ups on fresh servers never meet a connection the server has just closed (2–4 in 100 did)', async () => {
    const small = join(scratch, 'small.png');
    const wide = join(scratch, 'wide.png');
    writeFileSync(small, testPng(64, 64));
    writeFileSync(wide, testPng(200, 100, 'solid'));
    const failures: string[] = [];
    for (let s = 0; s < 25; s++) {
      const engine = engineWith({});
      try {
        const turns: ChatTurn[] = ask('What is this?', [small]);
        for (let i = 0; i < 4; i++) {
          const out = await engine.chat(turns, { maxTokens: 64, temperature: 0 }, () => undefined).catch((err: unknown) => {
            failures.push(`server ${s}, turn ${i}: ${String(err)}`);
            return null;
          });
          if (!out) break;
          turns.push({ role: 'assistant', text: out.text, images: [] }, { role: 'user', text: `And ${i}?`, images: i % 2 ? [{ path: wide }] : [] });
        }
      } finally {
        engine.dispose();
      }
    }
    assert.deepEqual(failures, []);
  });
});
