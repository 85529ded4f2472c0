// The chat's host side without VS Code: the view model maps the domain to what the webview is
// sent without changing it (a deep-frozen turn maps fine), and the composer keeps its waiting
// images through a refused one, clamps a crop from the (untrusted) webview, and empties on send.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Attachment, AttachmentStore } from '../../src/chat/attachments';
import { Composer } from '../../src/chat/composer';
import type { TurnRecord } from '../../src/chat/records';
import { historyMessage, imageView, turnView, type ViewTarget } from '../../src/chat/viewModel';
import { testPng } from '../fixtures/png';

const dir = mkdtempSync(join(tmpdir(), 'lens-chat-host-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = new AttachmentStore(join(dir, 'attachments'));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const target: ViewTarget = { uri: (p) => `webview:${p}`, inline: (a) => a.displayInline };

describe('chat view model', () => {
  it('maps a turn without changing it: regions in pixels, the error with its remedies, inline only when the caller says', async () => {
    const image = await store.add(testPng(640, 480), 'screen.png');
    const withInline: Attachment = { ...image, displayPath: image.path, displayInline: 'data:image/jpeg;base64,AAAA' };
    const turn: TurnRecord = deepFreeze({
      id: 't1',
      question: 'Where is Save?',
      prompt: null,
      images: [withInline],
      target: withInline,
      answer: 'Here.',
      status: 'error',
      regions: [{ kind: 'box', label: 'Save', box: [0.1, 0.2, 0.3, 0.4] }],
      error: { message: 'refused (401)', code: 'remote-unauthorized', remedies: [{ kind: 'setApiKey' }] },
      stats: null,
    });
    const view = turnView(turn, target);
    assert.equal(view.images[0]!.src, 'data:image/jpeg;base64,AAAA');
    assert.equal(view.images[0]!.original, `webview:${image.path}`);
    assert.deepEqual(view.regions[0], { kind: 'box', label: 'Save', box: [0.1, 0.2, 0.3, 0.4], pixels: [64, 96, 192, 192] });
    assert.deepEqual(view.error, { message: 'refused (401)', remedies: [{ kind: 'setApiKey' }] });
    // Once the caller has sent the inline copy, the file is named instead; the attachment still has it.
    const later = imageView(withInline, { ...target, inline: () => undefined });
    assert.equal(later.src, `webview:${image.path}`);
    assert.equal(turn.images[0]!.displayInline, 'data:image/jpeg;base64,AAAA');
  });

  it('lists the conversation on screen before its first save', () => {
    const shown = { id: 'new', title: 'Where is Save?', updated: 5, turns: [{}] };
    const stored = [{ id: 'old', title: 'Old', updated: 1, turns: 2 }];
    assert.deepEqual(historyMessage(stored, shown), {
      type: 'history',
      current: 'new',
      conversations: [{ id: 'new', title: 'Where is Save?', updated: 5, turns: 1 }, ...stored],
    });
    assert.deepEqual(historyMessage(stored, { ...shown, turns: [] }), { type: 'history', current: 'new', conversations: stored });
  });
});

describe('composer', () => {
  it('keeps its images through a refused one, clamps crops, and empties on send', async () => {
    const changes: Array<string | null> = [];
    const composer = new Composer(store, (error) => changes.push(error));
    const a = await store.add(testPng(200, 100), 'a.png');
    await composer.attach(async () => a);
    await composer.attach(async () => a);
    assert.equal(composer.images.length, 1, 'the same image is attached once');
    await composer.attach(() => store.add(Buffer.from('not an image'), 'bad.png'));
    assert.equal(composer.images.length, 1, 'a refused image leaves the others');
    assert.match(changes.at(-1) ?? '', /./, 'and says why');

    // A rectangle past the image (the webview is untrusted) is clamped to it.
    await composer.crop(a.id, { x: 150, y: 50, width: 500, height: 500 });
    const [p] = composer.images;
    assert.deepEqual(p!.crop, { x: 150, y: 50, width: 50, height: 50 });
    assert.notEqual(p!.shown.id, a.id, 'the model sees a cropped copy');
    assert.equal(p!.original, a);
    await composer.crop(p!.shown.id, null);
    assert.equal(composer.images[0]!.shown, a, 'undoing the crop shows the original again');

    const sent = composer.take();
    assert.deepEqual(sent, [a]);
    assert.equal(composer.images.length, 0);
    assert.equal(changes.at(-1), null);
  });
});
