// Capture pieces that need no display: the region selection rules, rectangle clamping, the
// region panel's message validation, clipboard type choice, image checks, retention, and how a
// screen grab is stored on its way to the chat.
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { captureName, checkCapturedImage, MAX_CAPTURE_PIXELS } from '../../src/capture/capture';
import { pickImageType } from '../../src/capture/clipboard';
import { displayKind, isPermissionFailure } from '../../src/capture/display';
import { CaptureError, MACOS_SCREEN_RECORDING_URL, permissionDenied } from '../../src/capture/errors';
import { findMermaid, isMermaidFile } from '../../src/capture/mermaidSource';
import { pruneCaptures } from '../../src/capture/retention';
import { clampSelection, PREVIEW_MAX_SIDE, previewShrink } from '../../src/capture/screen';
import { ImageError, loadSharp, modelCopyReady } from '../../src/images';
import { parseMessage } from '../../src/protocol/validate';
import { RegionWebviewMessage } from '../../src/protocol/region';
import { dragSpan, handlePoint, moveSpan, resizeSpan, toRect } from '../../webview/shared/selection';
import { decodePng, gradientImage, testPng } from '../fixtures/png';

const B = { width: 1920, height: 1080 };

describe('region selection', () => {
  it('drags a rectangle in any direction, clamped to the image', () => {
    assert.deepEqual(toRect(dragSpan({ x: 100, y: 50 }, { x: 300.4, y: 250.6 }, B), B), { x: 100, y: 50, width: 200, height: 201 });
    assert.deepEqual(toRect(dragSpan({ x: 300, y: 250 }, { x: 100, y: 50 }, B), B), { x: 100, y: 50, width: 200, height: 200 });
    assert.deepEqual(toRect(dragSpan({ x: 1900, y: 1000 }, { x: 5000, y: -40 }, B), B), { x: 1900, y: 0, width: 20, height: 1000 });
    assert.equal(toRect(dragSpan({ x: 10, y: 10 }, { x: 10.2, y: 90 }, B), B), null, 'a click is not a selection');
  });

  it('resizes with the handles, and a handle dragged across flips the rectangle', () => {
    const s = dragSpan({ x: 100, y: 100 }, { x: 200, y: 200 }, B);
    assert.deepEqual(toRect(resizeSpan(s, 'se', { x: 250, y: 260 }, B), B), { x: 100, y: 100, width: 150, height: 160 });
    assert.deepEqual(toRect(resizeSpan(s, 'n', { x: 999, y: 40 }, B), B), { x: 100, y: 40, width: 100, height: 160 });
    assert.deepEqual(toRect(resizeSpan(s, 'w', { x: 300, y: 0 }, B), B), { x: 200, y: 100, width: 100, height: 100 });
    assert.deepEqual(handlePoint(s, 'e'), { x: 200, y: 150 });
  });

  it('moves the rectangle without leaving the image', () => {
    const s = dragSpan({ x: 100, y: 100 }, { x: 200, y: 150 }, B);
    assert.deepEqual(toRect(moveSpan(s, 30, -20, B), B), { x: 130, y: 80, width: 100, height: 50 });
    assert.deepEqual(toRect(moveSpan(s, 5000, 5000, B), B), { x: 1820, y: 1030, width: 100, height: 50 });
  });

  it('the host clamps what the panel sends and refuses an empty rectangle', () => {
    assert.deepEqual(clampSelection({ x: 1900, y: 1070, width: 100, height: 100 }, 1920, 1080), { x: 1900, y: 1070, width: 20, height: 10 });
    assert.throws(() => clampSelection({ x: 5, y: 5, width: 0, height: 10 }, 100, 100), CaptureError);
  });

  it('validates the panel messages', () => {
    assert.deepEqual(parseMessage('region', RegionWebviewMessage, { type: 'confirm', rect: { x: 1, y: 2, width: 3, height: 4 } }), {
      type: 'confirm',
      rect: { x: 1, y: 2, width: 3, height: 4 },
    });
    for (const bad of [
      { type: 'confirm', rect: { x: -1, y: 2, width: 3, height: 4 } },
      { type: 'confirm', rect: { x: 1.5, y: 2, width: 3, height: 4 } },
      { type: 'confirm', rect: { x: 1, y: 2, width: 0, height: 4 } },
      { type: 'confirm' },
      { type: 'run', command: 'rm -rf /' },
    ]) {
      assert.throws(() => parseMessage('region', RegionWebviewMessage, bad), /Malformed region message/, JSON.stringify(bad));
    }
  });
});

describe('capture checks', () => {
  it('picks the best image type the clipboard offers', () => {
    assert.equal(pickImageType('TARGETS\nimage/jpeg\nimage/png\nUTF8_STRING\n'), 'image/png');
    assert.equal(pickImageType('TIMESTAMP\r\nimage/bmp\r\n'), 'image/bmp');
    assert.equal(pickImageType('UTF8_STRING\ntext/plain\nimage/tiff'), undefined);
  });

  it('refuses empty, corrupt and oversized images before decoding', () => {
    assert.deepEqual(checkCapturedImage(testPng(30, 20), 'x.png'), { format: 'png', width: 30, height: 20 });
    assert.throws(() => checkCapturedImage(new Uint8Array(0), 'x.png'), (e: unknown) => e instanceof ImageError && /empty \(0 bytes\)/.test(e.message));
    assert.throws(() => checkCapturedImage(Buffer.from('GIF89a'), 'x.gif'), ImageError);
    const huge = testPng(1, 1);
    huge.writeUInt32BE(20_000, 16);
    huge.writeUInt32BE(20_000, 20);
    assert.throws(() => checkCapturedImage(huge, 'big.png'), (e: unknown) => e instanceof CaptureError && e.problem === 'too-large');
    assert.ok(20_000 * 20_000 > MAX_CAPTURE_PIXELS);
  });

  it('knows when there is no display', () => {
    assert.equal(displayKind({ DISPLAY: ':1' }, 'linux'), 'x11');
    assert.equal(displayKind({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), 'wayland');
    assert.equal(displayKind({}, 'darwin'), 'native');
    assert.throws(() => displayKind({}, 'linux'), (e: unknown) => e instanceof CaptureError && e.problem === 'no-display');
  });

  it('recognises a macOS permission refusal and says where to grant it', () => {
    for (const m of ['Screen recording permission denied', 'not authorized to capture screen', 'TCC refused']) assert.ok(isPermissionFailure(m), m);
    assert.ok(!isPermissionFailure('Connection closed, error during parsing display string'));
    const err = permissionDenied();
    assert.equal(err.problem, 'permission');
    assert.match(err.message, /System Settings → Privacy & Security → Screen Recording/);
    assert.deepEqual(err.remedies, [{ kind: 'openScreenRecordingSettings' }]);
    assert.match(MACOS_SCREEN_RECORDING_URL, /^x-apple\.systempreferences:.*Privacy_ScreenCapture$/);
  });

  it('names captures by kind and time', () => {
    assert.equal(captureName('region', new Date(2026, 10, 26, 9, 5, 7)), 'region-2026-11-26-09-05-07.png');
  });
});

describe('capture retention', () => {
  it('deletes stored images older than the limit, never one in use or a file it did not write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lens-retention-'));
    const name = (c: string) => `${c.repeat(32)}.png`;
    const model = (c: string) => `${c.repeat(32)}.3x2.png`;
    const day = 24 * 3600 * 1000;
    const now = Date.now();
    mkdirSync(join(dir, 'model'));
    const files = [[name('a'), 10], [name('b'), 1], [name('c'), 10], ['notes.txt', 10], [join('model', model('a')), 10], [join('model', model('c')), 10]] as const;
    for (const [file, ageDays] of files) {
      writeFileSync(join(dir, file), 'x');
      const t = (now - ageDays * day) / 1000;
      utimesSync(join(dir, file), t, t);
    }
    const r = await pruneCaptures(dir, 7 * day, new Set([join(dir, name('c')), join(dir, 'model', model('c'))]), now);
    assert.deepEqual(r, { removed: 2, bytes: 2 });
    assert.deepEqual([name('a'), name('b'), name('c'), 'notes.txt'].map((f) => existsSync(join(dir, f))), [false, true, true, true]);
    assert.deepEqual([model('a'), model('c')].map((f) => existsSync(join(dir, 'model', f))), [false, true]);
    assert.equal((await pruneCaptures(dir, 0, new Set(), now)).removed, 3, 'Clear Captures deletes the rest it wrote');
    assert.deepEqual(await pruneCaptures(join(dir, 'missing'), 0, new Set()), { removed: 0, bytes: 0 });
  });
});

describe('Mermaid source in the editor', () => {
  const md = [
    '# Design',
    '```mermaid',
    'flowchart LR',
    '  A --> B',
    '```',
    'Some text.',
    '~~~mermaid',
    'sequenceDiagram',
    '  A->>B: hi',
    '~~~',
    '```ts',
    'const x = 1;',
    '```',
  ].join('\n');
  const at = (s: string) => md.indexOf(s);

  it('takes the fenced block under the cursor', () => {
    assert.equal(findMermaid(md, at('A --> B'), '', false), 'flowchart LR\n  A --> B');
    assert.equal(findMermaid(md, at('A->>B'), '', false), 'sequenceDiagram\n  A->>B: hi');
    assert.equal(findMermaid(md, at('Some text'), '', false), undefined, 'two blocks, the cursor in neither');
    assert.equal(findMermaid('intro\n```mermaid\npie\n  "a": 1\n```\n', 0, '', false), 'pie\n  "a": 1', 'the only block');
    assert.equal(findMermaid('intro\r\n```mermaid\r\ngraph TD\r\n  A-->B\r\n```\r\n', 0, '', false)?.replace(/\r/g, ''), 'graph TD\n  A-->B', 'CRLF files');
  });

  it('takes a selection (with or without its fences) and whole .mmd files', () => {
    assert.equal(findMermaid(md, 0, '  graph TD\n  X-->Y  ', false), 'graph TD\n  X-->Y');
    assert.equal(findMermaid(md, 0, '```mermaid\ngraph TD\n  X-->Y\n```', false), 'graph TD\n  X-->Y');
    assert.equal(findMermaid('graph TD\n  X-->Y\n', 3, '', true), 'graph TD\n  X-->Y');
    assert.ok(isMermaidFile('/a/b/flow.mmd', 'plaintext') && isMermaidFile('x', 'mermaid') && !isMermaidFile('a.md', 'markdown'));
  });
});

describe('a screen grab on its way to the chat', () => {
  it('shrinks the preview by a whole factor to at most PREVIEW_MAX_SIDE', () => {
    assert.equal(previewShrink(1280, 800), 1);
    assert.equal(previewShrink(1920, 1080), 2, 'a 1080p screen: 960×540');
    assert.equal(previewShrink(3840, 2160), 3, '4K: 1280×720');
    assert.equal(previewShrink(1080, 1920), 2, 'portrait');
    for (const [w, h] of [[1920, 1080], [2560, 1440], [5120, 2880], [700, 3000]] as const) {
      assert.ok(Math.max(w, h) / previewShrink(w, h) <= PREVIEW_MAX_SIDE, `${w}×${h}`);
      assert.ok(Math.max(w, h) / (previewShrink(w, h) - 1 || 1) > PREVIEW_MAX_SIDE || previewShrink(w, h) === 1, `no smaller than needed: ${w}×${h}`);
    }
  });

  it('stores the display copy at once and the lossless PNG (the original) in the background', async () => {
    const sharp = await loadSharp();
    const width = 64;
    const height = 48;
    const data = Buffer.from(gradientImage(width, height));
    const raw = () => sharp(data, { raw: { width, height, channels: 4 } });
    const display = await raw().removeAlpha().jpeg({ quality: 85 }).toBuffer();
    let pngCalls = 0;
    const png = async () => {
      pngCalls++;
      return raw().png().toBuffer();
    };
    const store = new AttachmentStore(mkdtempSync(join(tmpdir(), 'lens-grab-')));
    const a = await store.addGrab({ pixels: { data, width, height, channels: 4 }, display, png }, 'screen-x.png', { devicePixelRatio: 2 });
    // Shown first: the display copy exists when addGrab returns, the PNG not yet.
    assert.ok(a.displayPath && existsSync(a.displayPath), 'the display copy is written');
    assert.match(a.displayPath, /\.display\.jpg$/);
    assert.equal(a.displayInline, `data:image/jpeg;base64,${display.toString('base64')}`, 'and inline, for the first message');
    assert.equal(existsSync(a.path), false, 'the PNG is written after the chat has the capture');
    assert.equal(pngCalls, 0, 'not even encoded yet');
    assert.deepEqual([a.width, a.height, a.format, a.model.transform.devicePixelRatio], [width, height, 'png', 2]);
    // Then the lossless original, which the model copy, export and history read: exactly the pixels.
    await modelCopyReady(a.path);
    await modelCopyReady(a.model.modelPath);
    assert.equal(pngCalls, 1);
    const stored = decodePng(readFileSync(a.path));
    assert.ok(Buffer.from(stored.rgba).equals(data), 'the stored original is lossless');
    assert.ok(existsSync(a.model.modelPath), 'the model-sized copy is written');
    // The same pixels again: the same attachment, nothing encoded twice.
    const again = await store.addGrab({ pixels: { data, width, height, channels: 4 }, display, png }, 'screen-y.png');
    assert.equal(again.id, a.id);
    await modelCopyReady(again.path);
    assert.equal(pngCalls, 1);
    // Other pixels stored twice before the first PNG is written: written once.
    const other = Buffer.from(data).fill(7);
    const [b1, b2] = [
      await store.addGrab({ pixels: { data: other, width, height, channels: 4 }, display, png: async () => (pngCalls++, sharp(other, { raw: { width, height, channels: 4 } }).png().toBuffer()) }, 'a.png'),
      await store.addGrab({ pixels: { data: other, width, height, channels: 4 }, display, png: async () => (pngCalls++, sharp(other, { raw: { width, height, channels: 4 } }).png().toBuffer()) }, 'b.png'),
    ];
    assert.equal(b1.path, b2.path);
    await modelCopyReady(b2.path);
    assert.equal(pngCalls, 2, 'one more PNG, not two');
    assert.ok(Buffer.from(decodePng(readFileSync(b1.path)).rgba).equals(other));
  });
});
