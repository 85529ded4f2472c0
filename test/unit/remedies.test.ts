// The error model: every engine error code gets the fix it should (src/userError.ts), a failed
// turn keeps its remedies through the history (so a reload shows the same button), and a remedy
// from the webview is validated on arrival: hostile values are refused.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as v from 'valibot';
import { CaptureError, permissionDenied } from '../../src/capture/errors';
import { Conversation } from '../../src/chat/conversation';
import { HistoryStore } from '../../src/chat/history';
import { turnView } from '../../src/chat/viewModel';
import { Settings } from '../../src/config';
import type { Engine } from '../../src/engine/engine';
import { ENGINE_ERROR_CODES, EngineError, type EngineErrorCode } from '../../src/engine/errors';
import { describeFailure } from '../../src/engine/remote/failures';
import { parseEndpoint } from '../../src/engine/remote/endpoint';
import { ImageError } from '../../src/images';
import { DownloadError } from '../../src/models/download';
import { type Remedy, remedyLabel } from '../../src/protocol/remedy';
import { parseMessage, ProtocolError } from '../../src/protocol/validate';
import { WebviewMessage } from '../../src/protocol/webview';
import { engineRemedies, modelDownloadError, runtimeDownloadError, userErrorOf } from '../../src/userError';

const dir = mkdtempSync(join(tmpdir(), 'lens-remedies-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const open = (setting: string): Remedy => ({ kind: 'openSetting', setting });
const SHOW_LOG: Remedy = { kind: 'showLog' };
const CHOOSE_MODEL: Remedy[] = [{ kind: 'downloadModel' }, { kind: 'useExistingModel' }];

/** Each code with the setting the engine raises it with (none where it has none), and the fixes expected. */
const EXPECTED: Record<EngineErrorCode, Array<{ setting?: string; remedies: Remedy[] }>> = {
  'model-not-configured': [{ setting: Settings.modelPath, remedies: [...CHOOSE_MODEL, open(Settings.modelPath)] }, { remedies: [...CHOOSE_MODEL, open(Settings.modelPath)] }],
  'model-file-missing': [
    { setting: Settings.modelPath, remedies: [...CHOOSE_MODEL, open(Settings.modelPath)] },
    { setting: Settings.mmprojPath, remedies: [...CHOOSE_MODEL, open(Settings.mmprojPath)] },
  ],
  'model-file-invalid': [{ setting: Settings.mmprojPath, remedies: [...CHOOSE_MODEL, open(Settings.mmprojPath)] }],
  'load-failed': [{ setting: Settings.modelPath, remedies: [...CHOOSE_MODEL, open(Settings.modelPath)] }, { remedies: [SHOW_LOG] }],
  'no-vision': [{ setting: Settings.mmprojPath, remedies: [...CHOOSE_MODEL, open(Settings.mmprojPath)] }, { setting: Settings.remoteModel, remedies: [open(Settings.remoteModel)] }],
  'worker-crashed': [{ remedies: [SHOW_LOG] }],
  unloaded: [{ remedies: [SHOW_LOG] }],
  'worker-failed-to-start': [{ setting: Settings.llamaServerPath, remedies: [open(Settings.llamaServerPath)] }],
  'completion-failed': [{ remedies: [SHOW_LOG] }],
  'context-overflow': [{ setting: Settings.contextSize, remedies: [{ kind: 'newChat' }, open(Settings.contextSize)] }],
  'bad-request': [{ remedies: [SHOW_LOG] }],
  protocol: [{ remedies: [SHOW_LOG] }],
  'remote-not-configured': [{ setting: Settings.remoteEndpoint, remedies: [open(Settings.remoteEndpoint)] }],
  'remote-unreachable': [{ setting: Settings.remoteEndpoint, remedies: [open(Settings.remoteEndpoint)] }],
  'remote-tls': [{ setting: Settings.remoteEndpoint, remedies: [open(Settings.remoteEndpoint)] }],
  'remote-timeout': [{ setting: Settings.remoteTimeoutSeconds, remedies: [open(Settings.remoteTimeoutSeconds)] }],
  'remote-unauthorized': [{ remedies: [{ kind: 'setApiKey' }] }],
  'remote-model-not-found': [{ setting: Settings.remoteModel, remedies: [open(Settings.remoteModel)] }, { remedies: [SHOW_LOG] }],
  'remote-failed': [{ remedies: [SHOW_LOG] }],
};

describe('error → remedy', () => {
  it('each EngineError code maps to the fix that fits it', () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), [...ENGINE_ERROR_CODES].sort(), 'every code has an expectation');
    for (const code of ENGINE_ERROR_CODES) {
      for (const { setting, remedies } of EXPECTED[code]) {
        assert.deepEqual(engineRemedies(code, setting), remedies, `${code} with ${setting ?? 'no setting'}`);
        const err = userErrorOf(new EngineError(code, `failed: ${code}`, setting));
        assert.deepEqual(err, { message: `failed: ${code}`, code, remedies }, code);
        // Every remedy is one the protocol accepts (a setting of ours).
        for (const r of remedies) assert.ok(v.is(WebviewMessage, { type: 'remedy', remedy: r }), JSON.stringify(r));
      }
    }
  });

  it('a 401 from a remote server offers Set API Key, as the chat and the notification label it', () => {
    const err = describeFailure(Object.assign(new Error('401'), { status: 401 }), { endpoint: parseEndpoint('http://127.0.0.1:9/v1'), model: 'm', hasApiKey: false, timeoutSeconds: 5 });
    const shown = userErrorOf(err);
    assert.equal(shown.code, 'remote-unauthorized');
    assert.deepEqual(shown.remedies.map(remedyLabel), ['Set API Key']);
  });

  it('captures, images and unknown errors', () => {
    assert.deepEqual(userErrorOf(permissionDenied()).remedies, [{ kind: 'openScreenRecordingSettings' }]);
    assert.deepEqual(userErrorOf(new CaptureError('no display', 'no-display')), { message: 'no display', code: 'no-display', remedies: [] });
    assert.deepEqual(userErrorOf(new ImageError('corrupt')), { message: 'corrupt', code: 'image', remedies: [] });
    assert.deepEqual(userErrorOf(new Error('boom'), 'Capture failed'), { message: 'Capture failed: boom', remedies: [SHOW_LOG] });
    assert.deepEqual(userErrorOf('text thrown'), { message: 'text thrown', remedies: [SHOW_LOG] });
  });

  it('downloads: each failure offers its way forward', () => {
    const kinds = (e: unknown) => modelDownloadError(e).remedies.map((r) => r.kind);
    assert.deepEqual(kinds(new DownloadError('cancelled', 'c')), ['resume', 'deletePartialDownload']);
    assert.deepEqual(kinds(new DownloadError('no-space', 'n')), ['chooseModelsFolder', 'retry']);
    assert.deepEqual(kinds(new DownloadError('not-found', 'n')), ['useExistingModel', 'showLog']);
    assert.deepEqual(kinds(new DownloadError('forbidden', 'n')), ['useExistingModel', 'showLog']);
    assert.deepEqual(kinds(new DownloadError('checksum-mismatch', 'n')), ['retry', 'showLog']);
    const offline = modelDownloadError(new DownloadError('network', 'Cannot reach huggingface.co.'));
    assert.deepEqual(offline.remedies.map((r) => r.kind), ['retry', 'useExistingModel', 'showLog']);
    assert.match(offline.message, /^Cannot reach huggingface\.co\. .*(HF_ENDPOINT|Use Existing Model Files)/);
    assert.deepEqual(runtimeDownloadError(new DownloadError('network', 'n')).remedies.map((r) => r.kind), ['retry', 'showLog']);
    assert.deepEqual(runtimeDownloadError(new DownloadError('checksum-mismatch', 'n')).remedies.map((r) => r.kind), ['showLog']);
  });
});

function failingEngine(err: unknown): Engine {
  return {
    async chat() {
      throw err;
    },
  } as unknown as Engine;
}

describe('remedies in the history', () => {
  it('a failed turn keeps its code and remedies through save and load: a reload offers the same fix', async () => {
    const history = new HistoryStore(join(dir, 'history'), join(dir, 'model'));
    const refused = new EngineError('remote-unauthorized', 'The server at 127.0.0.1 refused the request (401).');
    const conversation = new Conversation({ engine: () => failingEngine(refused), chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log: () => undefined, store: history });
    const turn = await conversation.ask('hello?');
    assert.equal(turn.status, 'error');
    await conversation.flush();
    const loaded = await history.load(conversation.id);
    assert.ok(loaded);
    const error = loaded.turns[0]!.error;
    assert.deepEqual(error, { message: refused.message, code: 'remote-unauthorized', remedies: [{ kind: 'setApiKey' }] });
    // What the chat is sent for it after the reload: the same button.
    const view = turnView(loaded.turns[0]!, { uri: (p) => p, inline: () => undefined });
    assert.deepEqual(view.error?.remedies.map(remedyLabel), ['Set API Key']);

    // A setting's remedy too, with its setting.
    const missing = new EngineError('model-file-missing', 'The model file /x.gguf does not exist.', Settings.modelPath);
    const second = new Conversation({ engine: () => failingEngine(missing), chatOptions: () => ({ maxTokens: 5, temperature: 0 }), log: () => undefined, store: history });
    await second.ask('and?');
    await second.flush();
    assert.deepEqual((await history.load(second.id))!.turns[0]!.error!.remedies, [...CHOOSE_MODEL, open(Settings.modelPath)]);
  });

  it('reads files from before remedies were stored, and drops hostile remedies without losing the conversation', async () => {
    const history = new HistoryStore(join(dir, 'old'), join(dir, 'model'));
    const write = (id: string, error: unknown) => {
      mkdirSync(join(dir, 'old', id), { recursive: true });
      const turn = { id: 't', question: 'q', prompt: null, images: [], target: null, answer: '', status: 'error', regions: [], error, stats: null };
      writeFileSync(join(dir, 'old', id, 'conversation.json'), JSON.stringify({ version: 1, id, title: 't', created: 1, updated: 1, images: [], turns: [turn] }));
    };
    write('with-setting', { message: 'No model is set.', setting: Settings.modelPath });
    write('without', { message: 'llama-server crashed.' });
    write('hostile', { message: 'x', remedies: [{ kind: 'openSetting', setting: 'workbench.action.terminal.new' }] });
    write('hostile-setting', { message: 'x', setting: 'terminal.integrated.shell.linux' });
    assert.deepEqual((await history.load('with-setting'))!.turns[0]!.error!.remedies, [open(Settings.modelPath)]);
    assert.deepEqual((await history.load('without'))!.turns[0]!.error!.remedies, [SHOW_LOG]);
    assert.deepEqual((await history.load('hostile'))!.turns[0]!.error!.remedies, []);
    assert.deepEqual((await history.load('hostile-setting'))!.turns[0]!.error!.remedies, [SHOW_LOG]);
    // Written back whole, in the new shape.
    await history.save((await history.load('with-setting'))!);
    const stored = JSON.parse(readFileSync(join(dir, 'old', 'with-setting', 'conversation.json'), 'utf8')) as { turns: Array<{ error: unknown }> };
    assert.deepEqual(stored.turns[0]!.error, { message: 'No model is set.', remedies: [open(Settings.modelPath)] });
  });
});

describe('remedies from the webview', () => {
  const parse = (remedy: unknown) => parseMessage('webview', WebviewMessage, { type: 'remedy', remedy });

  it('accepts every remedy of the union, as it was sent', () => {
    for (const remedy of [{ kind: 'setApiKey' }, open('internvlLens.remote.endpoint'), SHOW_LOG, { kind: 'newChat' }, { kind: 'openScreenRecordingSettings' }] as Remedy[]) {
      assert.deepEqual(parse(remedy), { type: 'remedy', remedy });
    }
  });

  it('refuses hostile values', () => {
    const hostile: unknown[] = [
      { kind: 'openSetting', setting: 'workbench.action.terminal.new' },
      { kind: 'openSetting', setting: 'internvlLens' },
      { kind: 'openSetting', setting: 'internvlLens.modelPath; rm -rf /' },
      { kind: 'openSetting', setting: `internvlLens.${'a'.repeat(200)}` },
      { kind: 'openSetting', setting: 42 },
      { kind: 'openSetting' },
      { kind: 'runCommand', command: 'workbench.action.terminal.new' },
      { kind: '__proto__' },
      'setApiKey',
      'openSetting:internvlLens.modelPath',
      null,
      [],
    ];
    for (const remedy of hostile) assert.throws(() => parse(remedy), ProtocolError, JSON.stringify(remedy));
    // The message shape that came before (an id to split) is gone.
    assert.throws(() => parseMessage('webview', WebviewMessage, { type: 'action', id: 'setApiKey' }), ProtocolError);
  });

  it('every remedy kind has a label', () => {
    const kinds: Remedy[] = [
      { kind: 'setApiKey' },
      open(Settings.modelPath),
      SHOW_LOG,
      ...CHOOSE_MODEL,
      { kind: 'newChat' },
      { kind: 'openScreenRecordingSettings' },
      { kind: 'retry' },
      { kind: 'resume' },
      { kind: 'deletePartialDownload' },
      { kind: 'chooseModelsFolder' },
    ];
    const labels = kinds.map(remedyLabel);
    assert.equal(new Set(labels).size, labels.length, 'labels are distinct');
    for (const l of labels) assert.ok(l.length > 0);
  });
});
