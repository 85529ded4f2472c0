// RemoteEngine against real HTTP servers on 127.0.0.1 that stream exactly as LMDeploy, vLLM and
// llama-server do (test/fixtures/openai-server.ts): answers, grounding, stats, request bodies,
// retries, the errors users meet (key, model, busy, down, slow, dropped, TLS, no vision) and Stop.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChatTurn, EngineState } from '../../src/engine/engine';
import { EngineError } from '../../src/engine/errors';
import { RemoteEngine, type RemoteSettings } from '../../src/engine/remote/remoteEngine';
import { parseRegions } from '../../src/grounding';
import { gridPixelSize, imageTokenCount, prepareForModel, type PreparedImage } from '../../src/images';
import { FLAVOURS, OpenAICompatibleServer, tokenPieces, type Flavour } from '../fixtures/openai-server';
import { decodePng, testPng } from '../fixtures/png';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from './support';
import { TinyServer } from './tinyServer';

const scratch = mkdtempSync(join(tmpdir(), 'lens-remote-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let screen: PreparedImage; // 800×600 on the reference grid: 4×3 tiles + thumbnail
let dialog: PreparedImage; // 300×200: 3×2 + thumbnail

before(async () => {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(scratch, 'screen.png'), testPng(800, 600));
  await writeFile(join(scratch, 'dialog.png'), testPng(300, 200, 'solid'));
  screen = await prepareForModel(join(scratch, 'screen.png'), { outDir: join(scratch, 'model'), key: 'screen', maxTiles: 12 });
  dialog = await prepareForModel(join(scratch, 'dialog.png'), { outDir: join(scratch, 'model'), key: 'dialog', maxTiles: 12 });
});

interface Harness {
  engine: RemoteEngine;
  logs: string[];
  states: EngineState[];
}

/** An engine for `server` (a fixture, a URL, or a function that says the URL at each request: a setting that changes). */
function remoteEngine(server: { url: string } | string | (() => string), settings: Partial<RemoteSettings> = {}, apiKey?: string): Harness {
  const logs: string[] = [];
  const states: EngineState[] = [];
  const endpoint = () => (typeof server === 'string' ? server : typeof server === 'function' ? server() : server.url);
  const engine = new RemoteEngine({
    settings: () => ({ endpoint: endpoint(), model: '', timeoutSeconds: 10, maxTiles: 12, ...settings }),
    apiKey: async () => apiKey,
    log: (level, message) => logs.push(`[${level}] ${message}`),
    retry: { baseDelayMs: 30 },
  });
  engine.onDidChangeState((s) => states.push(s));
  return { engine, logs, states };
}

function ask(text: string, ...images: PreparedImage[]): ChatTurn[] {
  return [{ role: 'user', text, images: images.map((i) => ({ path: i.modelPath })) }];
}

const OPTIONS = { maxTokens: 256, temperature: 0 };

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<EngineError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

type ChatBody = {
  model: string;
  stream: boolean;
  stream_options: { include_usage: boolean };
  skip_special_tokens: boolean;
  max_tokens: number;
  temperature: number;
  mm_processor_kwargs: { max_dynamic_patch: number };
  messages: Array<{ role: string; content: string | Array<{ type: string; text?: string; image_url?: { url: string; max_dynamic_patch: number } }> }>;
};

describe('RemoteEngine streams grounded answers from each server as the local engine does', () => {
  const localAnswer = tinyModel('grounding').answer;
  const localRegions = parseRegions(localAnswer);

  it('the local tiny model answers the scripted grounding text', () => {
    assert.equal(localAnswer, SCRIPTS.grounding.text);
    assert.equal(localRegions.length, 3);
  });

  for (const flavour of FLAVOURS) {
    it(`${flavour}: streams token by token, the same regions, stats from its usage chunk, and the request InternVL needs`, async () => {
      const server = await OpenAICompatibleServer.start({ flavour });
      try {
        server.replies.push({ kind: 'answer', text: SCRIPTS.grounding.text, promptTokens: 3363, cachedTokens: flavour === 'lmdeploy' ? undefined : 3000, pieceDelayMs: 2 });
        const { engine, logs, states } = remoteEngine(server);
        assert.equal(engine.state.kind, 'idle');
        assert.equal(server.requests.length, 0, 'nothing is sent before the first question');
        const streamed: string[] = [];
        const outcome = await engine.chat(ask('Where is the Save button?', screen), OPTIONS, (t) => streamed.push(t));

        // Streaming: one piece per content chunk, no empty role/final chunks.
        const sentText = flavour === 'llama-server' ? SCRIPTS.grounding.text.replace(/<\/?(ref|box)>/g, '') : SCRIPTS.grounding.text;
        assert.deepEqual(streamed, tokenPieces(sentText));
        assert.equal(outcome.text, sentText);
        // Tag-less (llama-server) or tagged, the regions are the local engine's.
        assert.deepEqual(parseRegions(outcome.text), localRegions);
        assert.deepEqual(
          parseRegions(outcome.text).map((r) => r.label),
          SCRIPTS.grounding.regions.flatMap((r) => r.boxes.map(() => r.phrase)),
        );

        // Stats from the usage chunk (and llama-server's timings).
        const s = outcome.stats;
        assert.equal(s.contextTokens, 3363);
        assert.equal(s.generatedTokens, streamed.length);
        assert.equal(s.imageTokens, imageTokenCount(screen.grid));
        assert.equal(s.interrupted, false);
        assert.ok(s.timeToFirstTokenMs !== null && s.timeToFirstTokenMs >= 0);
        assert.ok(s.tokensPerSecond > 0, `tok/s ${s.tokensPerSecond}`);
        assert.equal(s.imageEncodeMs, null, 'no server reports image-encode time');
        assert.equal(s.imagesEncoded, null);
        if (flavour === 'lmdeploy') {
          assert.equal(s.kvReused, null, 'LMDeploy does not report cache reuse');
          assert.equal(s.promptTokens, 3363);
        } else {
          assert.equal(s.reusedTokens, 3000);
          assert.equal(s.kvReused, true);
          assert.equal(s.promptTokens, 363);
        }
        if (flavour === 'llama-server') assert.ok(s.promptMs !== null && s.promptMs >= 0);
        else assert.equal(s.promptMs, null);

        // The model came from /v1/models, whether it sees from the capability probe (/props, /api/show: this fixture has neither);
        // the request carries what InternVL needs.
        assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), ['GET /v1/models', 'GET /props', 'POST /api/show', 'POST /v1/chat/completions']);
        const request = server.chatRequests[0]!;
        assert.equal(request.headers.authorization, undefined, 'no key is set: no Authorization header');
        const body = request.body as ChatBody;
        assert.equal(body.model, server.options.models[0]);
        assert.equal(body.stream, true);
        assert.deepEqual(body.stream_options, { include_usage: true });
        assert.equal(body.skip_special_tokens, false);
        assert.deepEqual(body.mm_processor_kwargs, { max_dynamic_patch: 12 });
        assert.equal(body.max_tokens, 256);
        assert.equal(body.temperature, 0);
        assert.equal(body.messages.length, 1);
        const parts = body.messages[0]!.content as Exclude<ChatBody['messages'][0]['content'], string>;
        assert.deepEqual(parts.map((p) => p.type), ['image_url', 'text']);
        assert.equal(parts[1]!.text, 'Where is the Save button?');
        const image = parts[0]!.image_url!;
        assert.equal(image.max_dynamic_patch, 12);
        const match = /^data:image\/png;base64,(.+)$/.exec(image.url);
        assert.ok(match, image.url.slice(0, 40));
        const png = Buffer.from(match[1]!, 'base64');
        const stored = readFileSync(screen.modelPath);
        const decoded = decodePng(png);
        assert.deepEqual(decoded.rgba, decodePng(stored).rgba, 'the pixels prepared for the model, exactly');
        assert.ok(png.length < stored.length / 2, `uploaded losslessly recompressed: ${png.length} of ${stored.length} bytes`);
        assert.deepEqual({ width: decoded.width, height: decoded.height }, gridPixelSize(screen.grid));
        assert.deepEqual({ width: decoded.width, height: decoded.height }, { width: 1792, height: 1344 });

        assert.deepEqual(states.map((x) => x.kind), ['loading', 'busy', 'ready']);
        const state = engine.state as EngineState;
        assert.equal(state.kind === 'ready' && state.modelName, server.options.models[0]);
        assert.ok(logs.some((l) => l.includes(`using ${server.options.models[0]}`)), logs.join('\n'));
        await engine.dispose();
      } finally {
        await server.close();
      }
    });
  }
});

describe('RemoteEngine requests', () => {
  it('numbers several images of one turn as InternVL does, and sends history with its images', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm', models: ['internvl3'] });
    try {
      const { engine } = remoteEngine(server, { model: 'internvl3', maxTiles: 6 });
      const turns: ChatTurn[] = [
        { role: 'user', text: 'What is this?', images: [{ path: screen.modelPath }] },
        { role: 'assistant', text: 'A login form.', images: [] },
        { role: 'user', text: 'What differs between them?', images: [{ path: screen.modelPath }, { path: dialog.modelPath }] },
      ];
      await engine.chat(turns, OPTIONS, () => undefined);
      assert.deepEqual(server.requests.map((r) => r.path), ['/props', '/api/show', '/v1/chat/completions'], 'a configured model needs no model list (only the capability probe, once)');
      const body = server.chatRequests[0]!.body as ChatBody;
      assert.deepEqual(body.mm_processor_kwargs, { max_dynamic_patch: 6 });
      assert.deepEqual(body.messages.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(body.messages[1]!.content, 'A login form.');
      const last = body.messages[2]!.content as Exclude<ChatBody['messages'][0]['content'], string>;
      assert.deepEqual(last.map((p) => p.type), ['image_url', 'image_url', 'text']);
      assert.equal(last[2]!.text, 'Image-1: <image>\nImage-2: <image>\nWhat differs between them?');
      assert.ok(last.every((p) => p.type !== 'image_url' || p.image_url!.max_dynamic_patch === 6));
      const second = decodePng(Buffer.from(last[1]!.image_url!.url.split(',')[1]!, 'base64'));
      assert.deepEqual({ width: second.width, height: second.height }, gridPixelSize(dialog.grid));
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('runs one request at a time, in order, reporting the queue', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'lmdeploy' });
    try {
      server.replies.push({ kind: 'answer', text: 'first answer here', pieceDelayMs: 15 }, { kind: 'answer', text: 'second' });
      const { engine, states } = remoteEngine(server);
      const order: string[] = [];
      const a = engine.chat(ask('one'), OPTIONS, () => order.push('a'));
      const b = engine.chat(ask('two'), OPTIONS, () => order.push('b'));
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.text, 'first answer here');
      assert.equal(rb.text, 'second');
      assert.ok(order.lastIndexOf('a') < order.indexOf('b'), order.join(''));
      assert.ok(states.some((s) => s.kind === 'busy' && s.queued === 1), 'the second request shows as queued');
      await engine.dispose();
    } finally {
      await server.close();
    }
  });
});

describe('RemoteEngine failures say what to do', () => {
  for (const flavour of FLAVOURS) {
    it(`${flavour}: a wrong API key → Set API Key; the right one works; the key never reaches the log`, async () => {
      const key = 'sk-team-0123456789abcdef';
      const server = await OpenAICompatibleServer.start({ flavour, apiKey: key });
      try {
        const wrong = remoteEngine(server, {}, 'sk-wrong-key-fedcba9876');
        const err = await rejects(wrong.engine.chat(ask('hi', screen), OPTIONS, () => undefined), 'remote-unauthorized', /401.*Set API Key/s);
        assert.equal(wrong.engine.state.kind, 'error');
        assert.equal(server.requests[0]!.headers.authorization, 'Bearer sk-wrong-key-fedcba9876');
        const none = remoteEngine(server);
        await rejects(none.engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-unauthorized', /needs an API key/);

        const right = remoteEngine(server, {}, key);
        const outcome = await right.engine.chat(ask('hi', screen), OPTIONS, () => undefined);
        assert.equal(outcome.text, 'The diagram shows a login form.');
        assert.equal(server.chatRequests.at(-1)!.headers.authorization, `Bearer ${key}`);
        const everything = [...wrong.logs, ...none.logs, ...right.logs, err.message].join('\n');
        assert.ok(right.logs.some((l) => l.includes('with an API key')), right.logs.join('\n'));
        assert.ok(!everything.includes(key) && !everything.includes('sk-wrong-key'), everything);
        for (const h of [wrong, none, right]) await h.engine.dispose();
      } finally {
        await server.close();
      }
    });
  }

  it('an API key over plain http:// to another machine: warned once per endpoint, naming the setting; never for loopback or without a key', async () => {
    // A name, not an address: it counts as another machine whatever it resolves to (here, this
    // machine's own name, served on the address it resolves to, so that the request is real).
    const name = hostname();
    const { address } = await lookup(name);
    const key = 'sk-lan-0123456789abcdef';
    const servers = [await OpenAICompatibleServer.start({ flavour: 'vllm', apiKey: key, host: address }), await OpenAICompatibleServer.start({ flavour: 'vllm', apiKey: key, host: address })];
    const loopback = await OpenAICompatibleServer.start({ flavour: 'vllm', apiKey: key });
    try {
      const endpoints = servers.map((s) => `http://${name}:${s.port}/v1`);
      let endpoint = endpoints[0]!;
      const h = remoteEngine(() => endpoint, {}, key);
      for (let i = 0; i < 3; i++) assert.equal((await h.engine.chat(ask('hi'), OPTIONS, () => undefined)).text, 'The diagram shows a login form.');
      await h.engine.load(); // a new connection check: still one warning
      endpoint = endpoints[1]!;
      await h.engine.chat(ask('hi'), OPTIONS, () => undefined);
      endpoint = endpoints[0]!;
      await h.engine.chat(ask('hi'), OPTIONS, () => undefined);
      const warnings = h.logs.filter((l) => l.startsWith('[warn]') && /unencrypted/.test(l));
      assert.deepEqual(
        warnings,
        servers.map((s) => `[warn] remote: The API key is sent unencrypted to ${name.toLowerCase()}:${s.port} (http://): anyone on the network in between can read it. Use an https:// URL in internvlLens.remote.endpoint (or reach the server through an SSH tunnel to localhost).`),
        'one warning per endpoint, however many requests',
      );
      const ready = h.states.filter((s) => s.kind === 'ready');
      assert.ok(ready.length > 0 && ready.every((s) => s.kind === 'ready' && /unencrypted to .*internvlLens\.remote\.endpoint/.test(s.notice ?? '')), 'the load notice carries it for the status bar and the CLI');
      assert.ok(!h.logs.join('\n').includes(key));
      await h.engine.dispose();

      for (const quiet of [remoteEngine(loopback, {}, key), remoteEngine(`http://${name}:${servers[0]!.port}/v1`)]) {
        await quiet.engine.load().catch(() => undefined);
        assert.deepEqual(quiet.logs.filter((l) => /unencrypted/.test(l)), [], 'loopback, or no key: nothing to warn about');
        assert.ok(quiet.states.every((s) => s.kind !== 'ready' || s.notice === null));
        await quiet.engine.dispose();
      }
    } finally {
      for (const s of [...servers, loopback]) await s.close();
    }
  });

  for (const flavour of ['lmdeploy', 'vllm'] as Flavour[]) {
    it(`${flavour}: an unknown model → 404 with the models the server has`, async () => {
      const server = await OpenAICompatibleServer.start({ flavour, models: ['InternVL3-14B', 'InternVL3-78B'] });
      try {
        const { engine } = remoteEngine(server, { model: 'InternVL3-8B' });
        const err = await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-model-not-found', /no model "InternVL3-8B".*InternVL3-14B, InternVL3-78B/);
        assert.equal(err.setting, 'internvlLens.remote.model');
        // Load Model checks the list up front.
        await rejects(engine.load(), 'remote-model-not-found', /It serves: InternVL3-14B, InternVL3-78B/);
        await engine.dispose();
      } finally {
        await server.close();
      }
    });
  }

  it('429 then OK: waits as long as Retry-After says, then answers', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm' });
    try {
      server.replies.push({ kind: 'error', status: 429, body: { error: { message: 'Too many requests', type: 'RateLimitError', param: null, code: 429 } }, headers: { 'retry-after': '1' } });
      server.replies.push({ kind: 'answer', text: 'done' });
      const { engine, logs } = remoteEngine(server);
      const started = performance.now();
      const outcome = await engine.chat(ask('hi'), OPTIONS, () => undefined);
      const elapsed = performance.now() - started;
      assert.equal(outcome.text, 'done');
      assert.equal(server.chatRequests.length, 2);
      assert.ok(elapsed >= 950, `waited ${elapsed.toFixed(0)} ms for Retry-After: 1`);
      assert.ok(logs.some((l) => /answered 429; retrying in 1\.0 s \(retry 1 of 3\)/.test(l)), logs.join('\n'));
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('500 then OK: retried with backoff; a server that keeps failing is reported after the last try', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'lmdeploy' });
    try {
      const failure = { kind: 'error' as const, status: 500, body: { message: 'Internal Server Error', type: 'internal_error', code: 500, param: null, object: 'error' } };
      server.replies.push(failure, { kind: 'answer', text: 'recovered' });
      const { engine } = remoteEngine(server);
      assert.equal((await engine.chat(ask('hi'), OPTIONS, () => undefined)).text, 'recovered');
      assert.equal(server.chatRequests.length, 2);

      server.replies.push({ ...failure, status: 503 }, { ...failure, status: 503 }, { ...failure, status: 502 }, { ...failure, status: 503 });
      await rejects(engine.chat(ask('again'), OPTIONS, () => undefined), 'remote-failed', /failed after 4 attempts \(503: Internal Server Error\)/);
      assert.equal(server.chatRequests.length, 6);
      assert.equal(engine.state.kind, 'ready', 'the server is there: the engine stays usable');
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('a Retry-After longer than a minute is reported, not waited for', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm' });
    try {
      server.replies.push({ kind: 'error', status: 429, body: { error: { message: 'rate limited', type: 'RateLimitError', param: null, code: 429 } }, headers: { 'retry-after': '3600' } });
      const { engine } = remoteEngine(server);
      await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-failed', /is busy \(429: rate limited\)/);
      assert.equal(server.chatRequests.length, 1);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('a server that never answers → timeout, and the server sees the connection closed', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'lmdeploy' });
    try {
      server.replies.push({ kind: 'hang' });
      const { engine } = remoteEngine(server, { timeoutSeconds: 1 });
      const started = performance.now();
      const err = await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-timeout', /did not answer within 1 s.*requestTimeoutSeconds/);
      assert.equal(err.setting, 'internvlLens.remote.requestTimeoutSeconds');
      assert.ok(performance.now() - started < 5000);
      assert.equal(await server.chatRequests[0]!.closedEarly, true);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('a stream that stalls mid-answer → timeout, keeping what arrived', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm' });
    try {
      server.replies.push({ kind: 'answer', text: 'The Save button is at the bottom right.', stallAfter: 3 });
      const { engine } = remoteEngine(server, { timeoutSeconds: 1 });
      const streamed: string[] = [];
      await rejects(engine.chat(ask('hi'), OPTIONS, (t) => streamed.push(t)), 'remote-timeout', /did not answer within 1 s/);
      assert.equal(streamed.join(''), 'The Save button');
      assert.equal(await server.chatRequests[0]!.closedEarly, true);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  for (const flavour of FLAVOURS) {
    it(`${flavour}: a connection dropped mid-stream → a clear error, nothing streamed is lost`, async () => {
      const server = await OpenAICompatibleServer.start({ flavour });
      try {
        server.replies.push({ kind: 'answer', text: 'The Save button is at the bottom right.', dropAfter: 4, pieceDelayMs: 5 });
        const { engine } = remoteEngine(server);
        const streamed: string[] = [];
        await rejects(engine.chat(ask('hi'), OPTIONS, (t) => streamed.push(t)), 'remote-failed', /closed before the answer was complete|ended before the answer was complete/);
        assert.equal(streamed.join(''), 'The Save button is');
        assert.equal(server.chatRequests.length, 1, 'a half-streamed answer is not sent again');
        await engine.dispose();
      } finally {
        await server.close();
      }
    });
  }

  it('Stop mid-stream: the answer so far, marked interrupted; the server sees the connection close; the next question works', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'llama-server' });
    try {
      server.replies.push({ kind: 'answer', text: 'Counting:', endless: ' tick', pieceDelayMs: 5 });
      const { engine } = remoteEngine(server);
      const abort = new AbortController();
      let streamed = '';
      const outcome = await engine.chat(ask('count'), OPTIONS, (t) => {
        streamed += t;
        if (streamed.split('tick').length > 5) abort.abort();
      }, abort.signal);
      assert.equal(outcome.stats.interrupted, true);
      assert.ok(outcome.text.startsWith('Counting: tick tick tick tick'), outcome.text);
      assert.equal(await server.chatRequests[0]!.closedEarly, true);
      assert.equal(engine.state.kind, 'ready');
      assert.equal((await engine.chat(ask('again'), OPTIONS, () => undefined)).text, 'The diagram shows a login form.');
      // Stopped while queued: never sent.
      const queuedAbort = new AbortController();
      queuedAbort.abort();
      const skipped = await engine.chat(ask('never'), OPTIONS, () => undefined, queuedAbort.signal);
      assert.equal(skipped.stats.interrupted, true);
      assert.equal(server.chatRequests.length, 2);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('nothing listening → connection refused, naming the endpoint setting', async () => {
    const probe = createNetServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const { engine } = remoteEngine(`http://127.0.0.1:${port}/v1`);
    const err = await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-unreachable', new RegExp(`Nothing answers at 127.0.0.1:${port} \\(connection refused\\)`));
    assert.equal(err.setting, 'internvlLens.remote.endpoint');
    assert.equal(engine.state.kind, 'error');
    await engine.dispose();
  });

  it('https:// to a plain-HTTP server → a TLS error that suggests http://', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm' });
    try {
      const { engine } = remoteEngine(server.url.replace('http://', 'https://'));
      await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-tls', /secure connection to 127.0.0.1:\d+ failed \(ERR_SSL_WRONG_VERSION_NUMBER: wrong version number\)\. The server may speak plain HTTP: try http:\/\//);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });

  it('a self-signed certificate → a TLS error that explains how to trust it', async () => {
    const dir = mkdtempSync(join(scratch, 'tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { engine } = remoteEngine(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v1`);
      await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-tls', /self-signed certificate.*NODE_EXTRA_CA_CERTS/s);
      await engine.dispose();
    } finally {
      server.close();
    }
  });

  it('llama-server without --mmproj and a text-only vLLM model → "cannot take images", not retried', async () => {
    const llama = await OpenAICompatibleServer.start({ flavour: 'llama-server' });
    const vllm = await OpenAICompatibleServer.start({ flavour: 'vllm', models: ['Qwen/Qwen2.5-7B-Instruct'] });
    try {
      llama.replies.push({ kind: 'error', status: 500, body: { error: { code: 500, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj', type: 'server_error' } } });
      const a = remoteEngine(llama);
      await rejects(a.engine.chat(ask('hi', screen), OPTIONS, () => undefined), 'no-vision', /cannot take images.*--mmproj/);
      assert.equal(llama.chatRequests.length, 1);
      vllm.replies.push({ kind: 'error', status: 400, body: { error: { message: 'Qwen2ForCausalLM is not a multimodal model', type: 'BadRequestError', param: null, code: 400 } } });
      const b = remoteEngine(vllm);
      await rejects(b.engine.chat(ask('hi', screen), OPTIONS, () => undefined), 'no-vision', /Qwen\/Qwen2.5-7B-Instruct on 127.0.0.1:\d+ cannot take images \(400: Qwen2ForCausalLM is not a multimodal model\)/);
      await a.engine.dispose();
      await b.engine.dispose();
    } finally {
      await llama.close();
      await vllm.close();
    }
  });

  it('no endpoint set → says which setting to fill, contacting nothing', async () => {
    const { engine } = remoteEngine('');
    const err = await rejects(engine.chat(ask('hi'), OPTIONS, () => undefined), 'remote-not-configured', /No server is set/);
    assert.equal(err.setting, 'internvlLens.remote.endpoint');
    await engine.dispose();
  });

  it('Load Model checks the server; Unload forgets it and stops an answer in flight', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'lmdeploy', models: ['internvl3-14b'] });
    try {
      const { engine } = remoteEngine(server);
      const loaded = await engine.load();
      assert.deepEqual(loaded, { modelName: 'internvl3-14b', vision: true, backend: `remote: ${server.url}`, notice: null });
      assert.equal(engine.state.kind, 'ready');
      server.replies.push({ kind: 'answer', text: 'Counting:', endless: ' tick', pieceDelayMs: 5 });
      let first!: () => void;
      const started = new Promise<void>((r) => (first = r));
      const answer = engine.chat(ask('count'), OPTIONS, () => first());
      await started;
      await engine.unload();
      const outcome = await answer;
      assert.equal(outcome.stats.interrupted, true);
      assert.equal(engine.state.kind, 'idle');
      assert.equal(await server.chatRequests[0]!.closedEarly, true);
      await engine.dispose();
    } finally {
      await server.close();
    }
  });
});

describe('RemoteEngine asks the server whether the model sees images', () => {
  it('a real llama-server without an mmproj: "cannot see images" before any image is sent; text still answers; with its mmproj images go through', async () => {
    const sentence = tinyModel('sentence');
    const textOnly = await TinyServer.start({ modelPath: sentence.modelPath, mmprojPath: null });
    const vision = await TinyServer.start({ modelPath: sentence.modelPath, mmprojPath: sentence.mmprojPath });
    try {
      const blind = remoteEngine(`${textOnly.server.baseURL}/v1`, {}, textOnly.server.apiKey);
      const err = await blind.engine.chat(ask('What is this?', screen), { maxTokens: 8, temperature: 0 }, () => undefined).then(
        () => assert.fail('an image was sent to a model that cannot see'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof EngineError && err.code === 'no-vision', String(err));
      assert.match((err as Error).message, /cannot see images .*--mmproj.*internvlLens\.remote\.model/);
      const text = await blind.engine.chat(ask('Say something.'), { maxTokens: 8, temperature: 0 }, () => undefined);
      assert.ok(text.text.length > 0, 'a text question is still answered');
      await blind.engine.dispose();

      const seeing = remoteEngine(`${vision.server.baseURL}/v1`, {}, vision.server.apiKey);
      const answer = await seeing.engine.chat(ask('What is this?', screen), { maxTokens: 8, temperature: 0 }, () => undefined);
      assert.ok(answer.text.length > 0 && (answer.stats.imageTokens ?? 0) > 0, 'the image went through');
      await seeing.engine.dispose();
    } finally {
      await textOnly.stop();
      await vision.stop();
    }
  });
});
