// The chat webview's message router (src/chat/router.ts): every message type reaches its own
// handler with the message as validated; malformed messages are refused with a ProtocolError and
// logged, never reaching a handler; a handler that throws or rejects is logged, not thrown into
// the host.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createRouter, type WebviewHandlers, type WebviewMessageType } from '../../src/chat/router';
import type { WebviewMessage } from '../../src/protocol/webview';

/** One valid message of each type: the compiler makes this table name every type, and only those. */
const SAMPLES: { [K in WebviewMessageType]: Extract<WebviewMessage, { type: K }> } = {
  ready: { type: 'ready' },
  ask: { type: 'ask', text: 'Where is Save?' },
  copyRegion: { type: 'copyRegion', turnId: 't1', index: 2 },
  exportAnnotated: { type: 'exportAnnotated', turnId: 't1' },
  exportRegions: { type: 'exportRegions', turnId: 't1', format: 'playwright' },
  setAttachmentTiles: { type: 'setAttachmentTiles', id: 'img1', maxTiles: 2 },
  askRegion: { type: 'askRegion', imageId: 'img1', rect: { x: 10, y: 20, width: 30, height: 40 } },
  stop: { type: 'stop' },
  newChat: { type: 'newChat' },
  remedy: { type: 'remedy', remedy: { kind: 'openSetting', setting: 'internvlLens.modelPath' } },
  regenerate: { type: 'regenerate', turnId: 't1' },
  editResend: { type: 'editResend', turnId: 't1', text: 'Where is Open?' },
  copyText: { type: 'copyText', text: 'answer' },
  pickImages: { type: 'pickImages' },
  attachBytes: { type: 'attachBytes', name: 'a.png', data: 'iVBORw0KGgo=' },
  attachUris: { type: 'attachUris', uris: ['file:///tmp/a.png'] },
  removeAttachment: { type: 'removeAttachment', id: 'img1' },
  cropAttachment: { type: 'cropAttachment', id: 'img1', rect: { x: 1, y: 2, width: 3, height: 4 } },
  openConversation: { type: 'openConversation', id: 'c1' },
  renameConversation: { type: 'renameConversation', id: 'c1', title: 'Diagram' },
  deleteConversation: { type: 'deleteConversation', id: 'c1' },
  clearHistory: { type: 'clearHistory' },
};

interface Surface {
  name: string;
}

/** Handlers that record what reached them. */
function recording(): { handlers: WebviewHandlers<Surface>; calls: Array<{ handler: string; msg: unknown; surface: Surface }> } {
  const calls: Array<{ handler: string; msg: unknown; surface: Surface }> = [];
  const handlers = Object.fromEntries(Object.keys(SAMPLES).map((type) => [type, (msg: unknown, surface: Surface) => void calls.push({ handler: type, msg, surface })])) as unknown as WebviewHandlers<Surface>;
  return { handlers, calls };
}

describe('chat message router', () => {
  it('every message type reaches its own handler, with the surface it came from', async () => {
    const { handlers, calls } = recording();
    const logs: string[] = [];
    const route = createRouter(handlers, (m) => logs.push(m));
    const surface = { name: 'sidebar' };
    for (const [type, msg] of Object.entries(SAMPLES)) {
      calls.length = 0;
      await route(surface, structuredClone(msg));
      assert.deepEqual(calls, [{ handler: type, msg, surface }], type);
    }
    assert.deepEqual(logs, []);
  });

  it('refuses malformed messages with a ProtocolError, logged; no handler runs', async () => {
    const { handlers, calls } = recording();
    const logs: string[] = [];
    const route = createRouter(handlers, (m) => logs.push(m));
    const bad: unknown[] = [
      null,
      'ready',
      { type: 'nope' },
      { type: 'action', id: 'openSetting:internvlLens.modelPath' },
      { type: 'remedy', remedy: { kind: 'openSetting', setting: 'workbench.action.terminal.new' } },
      { type: 'remedy', remedy: { kind: 'runCommand' } },
      { type: 'ask', text: '' },
      { type: 'copyRegion', turnId: 't', index: -1 },
      { type: 'exportRegions', turnId: 't', format: 'xlsx' },
      { type: 'askRegion', imageId: 'img', rect: { x: 0, y: 0, width: 0, height: 5 } },
      { type: 'setAttachmentTiles', id: 'img', maxTiles: 13 },
      { type: 'exportRegions', turnId: '', format: 'json' },
      { type: 'cropAttachment', id: 'img', rect: { x: 0, y: 0, width: 0, height: 1 } },
      { type: 'attachUris', uris: [] },
      { type: 'renameConversation', id: 'c', title: '   ' },
    ];
    for (const raw of bad) await route({ name: 's' }, raw);
    assert.deepEqual(calls, []);
    assert.equal(logs.length, bad.length);
    for (const l of logs) assert.match(l, /^rejected webview message: Malformed webview message: /);
  });

  it('a handler that throws or rejects is logged, not thrown into the host', async () => {
    const logs: string[] = [];
    const { handlers } = recording();
    const route = createRouter(
      {
        ...handlers,
        stop: () => {
          throw new Error('sync failure');
        },
        newChat: async () => {
          throw new Error('async failure');
        },
      },
      (m) => logs.push(m),
    );
    await route({ name: 's' }, { type: 'stop' });
    await route({ name: 's' }, { type: 'newChat' });
    assert.deepEqual(logs, ['webview stop: sync failure', 'webview newChat: async failure']);
  });
});
