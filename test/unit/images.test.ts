import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ImageError, probeImage } from '../../src/images';
import { encodePng, solidImage } from '../fixtures/png';

describe('probeImage', () => {
  it('reads PNG size from a real encoded file', () => {
    const png = encodePng(37, 21, solidImage(37, 21, [10, 20, 30, 255]));
    assert.deepEqual(probeImage(png), { format: 'png', width: 37, height: 21 });
  });

  it('reads JPEG, GIF, BMP and WebP headers', () => {
    // Minimal headers with the size fields where each format keeps them.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x02, 0x58, 0x03, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(probeImage(jpeg), { format: 'jpeg', width: 600, height: 300 });
    const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.from([0x40, 0x01, 0xf0, 0x00])]);
    assert.deepEqual(probeImage(gif), { format: 'gif', width: 320, height: 240 });
    const bmp = Buffer.alloc(30);
    bmp.write('BM', 0, 'ascii');
    bmp.writeInt32LE(640, 18);
    bmp.writeInt32LE(-480, 22);
    assert.deepEqual(probeImage(bmp), { format: 'bmp', width: 640, height: 480 });
    const webp = Buffer.alloc(30);
    webp.write('RIFF', 0, 'ascii');
    webp.write('WEBP', 8, 'ascii');
    webp.write('VP8X', 12, 'ascii');
    webp.writeUIntLE(799, 24, 3);
    webp.writeUIntLE(599, 27, 3);
    assert.deepEqual(probeImage(webp), { format: 'webp', width: 800, height: 600 });
  });

  it('refuses a file that is not an image, naming it', () => {
    assert.throws(() => probeImage(Buffer.from('hello, I am text'), 'notes.png'), (e: unknown) => e instanceof ImageError && /notes\.png is not an image/.test(e.message));
  });

  it('refuses a PNG with a damaged size', () => {
    const png = encodePng(4, 4, solidImage(4, 4, [0, 0, 0, 255]));
    png.writeUInt32BE(0, 16);
    assert.throws(() => probeImage(png, 'x.png'), /header is damaged/);
  });
});
