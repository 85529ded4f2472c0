// Engine selection: local mode never builds the remote engine (so nothing is sent anywhere);
// switching builds the new engine, forwards its state and disposes the old one, stopping it.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { EngineKind } from '../../src/config';
import type { Engine, EngineState } from '../../src/engine/engine';
import { LocalEngine } from '../../src/engine/local/localEngine';
import { RemoteEngine } from '../../src/engine/remote/remoteEngine';
import { SwitchableEngine } from '../../src/engine/switchable';
import { OpenAICompatibleServer } from '../fixtures/openai-server';

describe('SwitchableEngine', () => {
  it('local mode never constructs or contacts the remote engine; switching swaps, forwards state and disposes', async () => {
    const server = await OpenAICompatibleServer.start({ flavour: 'vllm' });
    try {
      const built: EngineKind[] = [];
      const disposed: EngineKind[] = [];
      const build = (kind: EngineKind): Engine => {
        built.push(kind);
        const engine: Engine =
          kind === 'remote'
            ? new RemoteEngine({ settings: () => ({ endpoint: server.url, model: '', timeoutSeconds: 10, maxTiles: 12 }), apiKey: async () => undefined, log: () => undefined })
            : // No model configured: never starts llama-server in this test.
              new LocalEngine({ server: async () => assert.fail('no server is chosen without a model'), settings: () => ({ modelPath: '', mmprojPath: '', contextSize: 4096, gpuLayers: 0, threads: 1, idleUnloadMinutes: 0 }), log: () => undefined });
        const dispose = engine.dispose.bind(engine);
        engine.dispose = async () => {
          disposed.push(kind);
          await dispose();
        };
        return engine;
      };
      const engine = new SwitchableEngine(build, 'local');
      const states: EngineState['kind'][] = [];
      engine.onDidChangeState((s) => states.push(s.kind));

      await assert.rejects(engine.chat([{ role: 'user', text: 'hi', images: [] }], { maxTokens: 8, temperature: 0 }, () => undefined), /model/i);
      await engine.use('local');
      assert.deepEqual(built, ['local'], 'only the local engine exists');
      assert.equal(server.requests.length, 0, 'local mode sent nothing');

      await engine.use('remote');
      assert.equal(engine.kind, 'remote');
      assert.ok(engine.current instanceof RemoteEngine);
      assert.deepEqual(disposed, ['local']);
      server.replies.push({ kind: 'answer', text: 'Counting:', endless: ' tick', pieceDelayMs: 5 });
      let started!: () => void;
      const streaming = new Promise<void>((r) => (started = r));
      const answer = engine.chat([{ role: 'user', text: 'count', images: [] }], { maxTokens: 8, temperature: 0 }, () => started());
      await streaming;
      assert.ok(states.includes('busy'), `remote states are forwarded: ${states.join(',')}`);

      // Back to local: the remote engine is disposed and its answer stopped; the server sees it.
      await engine.use('local');
      assert.equal((await answer).stats.interrupted, true);
      assert.equal(await server.chatRequests[0]!.closedEarly, true);
      assert.deepEqual(built, ['local', 'remote', 'local']);
      assert.deepEqual(disposed, ['local', 'remote']);
      assert.equal(states.at(-1), 'idle', 'the new engine announces its state');
      await engine.dispose();
      assert.deepEqual(disposed, ['local', 'remote', 'local']);
    } finally {
      await server.close();
    }
  });
});
