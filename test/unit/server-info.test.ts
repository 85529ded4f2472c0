import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { readBoundedText, visionFromProps } from '../../src/engine/openai/serverInfo';

describe('what a server says about itself', () => {
  it('reads a body up to its bound, and stops fetching an endless one at the bound', async () => {
    assert.equal(await readBoundedText(new Response('{"a":1}'), 100), '{"a":1}');
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    assert.equal(await readBoundedText(new Response(endless), 1024 * 1024), null);
    assert.ok(pulled <= 20, `read ${pulled} chunks of 64 KiB for a 1 MiB bound`);
  });

  it('reads llama-server\'s vision flag, and says nothing when there is none', () => {
    assert.equal(visionFromProps({ modalities: { vision: true } }), true);
    assert.equal(visionFromProps({ modalities: { vision: false } }), false);
    assert.equal(visionFromProps({ modalities: {} }), null);
    assert.equal(visionFromProps('not json'), null);
    assert.equal(visionFromProps(null), null);
  });
});
