import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { onValidMessage, parseMessage, ProtocolError } from '../../src/protocol/validate';
import { WebviewMessage, HostMessage } from '../../src/protocol/webview';
import { DiagramWebviewMessage } from '../../src/protocol/diagram';

describe('protocol validation', () => {
  it('onValidMessage hands over the messages that match and logs the others, going no further', () => {
    let listener: ((raw: unknown) => void) | undefined;
    let disposed = false;
    const source = {
      onDidReceiveMessage(l: (raw: unknown) => void) {
        listener = l;
        return { dispose: () => (disposed = true) };
      },
    };
    const got: unknown[] = [];
    const logs: string[] = [];
    const sub = onValidMessage(source, 'Mermaid panel', DiagramWebviewMessage, (l) => logs.push(l), (m) => got.push(m));
    listener!({ type: 'ready' });
    listener!({ type: 'runCommand', command: 'workbench.action.quit' });
    listener!('ready');
    assert.deepEqual(got, [{ type: 'ready' }]);
    assert.equal(logs.length, 2);
    for (const l of logs) assert.match(l, /^rejected Mermaid panel message: Malformed Mermaid panel message: /);
    sub.dispose();
    assert.equal(disposed, true);
  });

  it('accepts declared webview messages', () => {
    assert.deepEqual(parseMessage('webview', WebviewMessage, { type: 'ask', text: 'hi' }), { type: 'ask', text: 'hi' });
  });

  it('rejects unknown, malformed and oversized webview messages', () => {
    for (const bad of [null, 'ask', { type: 'runCommand', command: 'workbench.action.quit' }, { type: 'ask' }, { type: 'ask', text: '' }, { type: 'ask', text: 'x'.repeat(100_001) }]) {
      assert.throws(() => parseMessage('webview', WebviewMessage, bad), ProtocolError);
    }
  });

  it('accepts grounding messages and rejects malformed ones', () => {
    for (const good of [
      { type: 'ask', text: 'the Save button', preset: 'locate' },
      { type: 'ask', text: '', preset: 'describeRegions' },
      { type: 'copyRegion', turnId: 't', index: 3 },
      { type: 'exportAnnotated', turnId: 't' },
    ]) {
      assert.deepEqual(parseMessage('webview', WebviewMessage, good), good);
    }
    for (const bad of [
      { type: 'ask', text: 'x', preset: 'runCommand' },
      { type: 'copyRegion', turnId: 't', index: -1 },
      { type: 'copyRegion', turnId: 't', index: 1.5 },
      { type: 'copyRegion', turnId: 't' },
      { type: 'exportAnnotated', turnId: 'x'.repeat(101) },
    ]) {
      assert.throws(() => parseMessage('webview', WebviewMessage, bad), ProtocolError, JSON.stringify(bad));
    }
  });

  it('accepts the chat panel messages and rejects malformed or unknown ones', () => {
    for (const good of [
      { type: 'regenerate', turnId: 't' },
      { type: 'editResend', turnId: 't', text: 'better' },
      { type: 'copyText', text: 'x' },
      { type: 'pickImages' },
      { type: 'attachBytes', name: 'a.png', data: 'iVBORw0KGgo=' },
      // A 10 MB screenshot.
      { type: 'attachBytes', name: 'big.png', data: Buffer.alloc(10 * 1024 * 1024, 7).toString('base64') },
      { type: 'attachUris', uris: ['file:///a.png'] },
      { type: 'removeAttachment', id: 'abc' },
      { type: 'cropAttachment', id: 'abc', rect: { x: 0, y: 5, width: 10, height: 20 } },
      { type: 'cropAttachment', id: 'abc', rect: null },
      { type: 'openConversation', id: 'c' },
      { type: 'renameConversation', id: 'c', title: 'New name' },
      { type: 'deleteConversation', id: 'c' },
      { type: 'clearHistory' },
    ]) {
      assert.deepEqual(parseMessage('webview', WebviewMessage, good), good);
    }
    for (const bad of [
      { type: 'editResend', turnId: 't', text: '' },
      { type: 'regenerate' },
      { type: 'attachBytes', name: 'a.png', data: 'not base64!' },
      { type: 'attachBytes', name: 'a.png', data: 'abc' },
      { type: 'attachBytes', name: 'a.png', data: 'A'.repeat(80 * 1024 * 1024) },
      { type: 'attachUris', uris: [] },
      { type: 'attachUris', uris: Array.from({ length: 21 }, () => 'file:///a.png') },
      { type: 'cropAttachment', id: 'abc', rect: { x: -1, y: 0, width: 10, height: 10 } },
      { type: 'cropAttachment', id: 'abc', rect: { x: 0, y: 0, width: 0, height: 10 } },
      { type: 'cropAttachment', id: 'abc', rect: { x: 0.5, y: 0, width: 1, height: 10 } },
      { type: 'renameConversation', id: 'c', title: '   ' },
      { type: 'deleteConversation', id: '' },
      { type: 'executeCommand', id: 'workbench.action.quit' },
    ]) {
      assert.throws(() => parseMessage('webview', WebviewMessage, bad), ProtocolError, JSON.stringify(bad).slice(0, 100));
    }
  });

  it('validates progress, pending and history host messages', () => {
    const image = { id: 'a', src: 'x', name: 'a.png', width: 10, height: 10, tiles: 1, tokens: 258, crop: null };
    for (const good of [
      { type: 'progress', turnId: 't', progress: { phase: 'loading', percent: 50 } },
      { type: 'progress', turnId: 't', progress: { phase: 'encoding', tiles: 9 } },
      { type: 'progress', turnId: 't', progress: { phase: 'generating', tokensPerSecond: null, tokens: 0, approximate: false } },
      { type: 'progress', turnId: 't', progress: { phase: 'generating', tokensPerSecond: 21.5, tokens: 40, approximate: true } },
      { type: 'pending', images: [image], error: null },
      { type: 'history', conversations: [{ id: 'c', title: 'T', updated: 1, turns: 2 }], current: 'c' },
    ]) {
      assert.deepEqual(parseMessage('host', HostMessage, good), good);
    }
    for (const bad of [
      { type: 'progress', turnId: 't', progress: { phase: 'loading', percent: 150 } },
      { type: 'progress', turnId: 't', progress: { phase: 'thinking' } },
      { type: 'progress', turnId: 't', progress: { phase: 'generating', tokensPerSecond: -1, tokens: 3, approximate: false } },
      { type: 'progress', turnId: 't', progress: { phase: 'generating', tokensPerSecond: 5, tokens: 2.5, approximate: false } },
      { type: 'progress', turnId: 't', progress: { phase: 'generating', tokensPerSecond: 5 } },
      { type: 'pending', images: [{ ...image, tiles: 0 }], error: null },
      { type: 'history', conversations: [{ id: 'c' }], current: null },
    ]) {
      assert.throws(() => parseMessage('host', HostMessage, bad), ProtocolError, JSON.stringify(bad));
    }
  });

  it('rejects a host message whose region coordinates are not numbers', () => {
    const turn = { id: 't', question: 'q', images: [], target: null, answer: '', status: 'done', regions: [{ kind: 'box', label: null, box: [0, 0, 'x', 1] }], error: null, stats: null };
    assert.throws(() => parseMessage('host', HostMessage, { type: 'turn', turn }), ProtocolError);
  });

  it('accepts a rendered diagram of many megabytes in one linear check, and rejects what is not base64', () => {
    // An 8 MB PNG as base64: v.base64()'s regular expression overflowed the stack from ~3 MB, so
    // large diagrams never arrived and the panel timed out.
    const png = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < png.length; i++) png[i] = (i * 2654435761) >>> 24;
    const good = { type: 'rendered', png: png.toString('base64'), width: 4096, height: 2048 };
    assert.deepEqual(parseMessage('Mermaid panel', DiagramWebviewMessage, good), good);
    for (const png of ['a'.repeat(5), 'abc!', `${'A'.repeat(4 * 1024 * 1024)}=A==`, 'A'.repeat(90_000_004)]) {
      assert.throws(() => parseMessage('Mermaid panel', DiagramWebviewMessage, { type: 'rendered', png, width: 1, height: 1 }), ProtocolError, png.slice(0, 20));
    }
  });
});
