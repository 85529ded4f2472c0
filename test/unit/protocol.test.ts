import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseMessage, ProtocolError } from '../../src/protocol/validate';
import { WebviewMessage, HostMessage } from '../../src/protocol/webview';
import { ChatParams } from '../../src/protocol/worker';

describe('protocol validation', () => {
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

  it('rejects a host message whose region coordinates are not numbers', () => {
    const turn = { id: 't', question: 'q', images: [], target: null, answer: '', status: 'done', regions: [{ kind: 'box', label: null, box: [0, 0, 'x', 1] }], error: null, stats: null };
    assert.throws(() => parseMessage('host', HostMessage, { type: 'turn', turn }), ProtocolError);
  });

  it('rejects a worker chat request without messages', () => {
    assert.throws(() => parseMessage('chat', ChatParams, { chatId: 'a', messages: [], maxTokens: 5, temperature: 0 }), /messages/);
  });
});
