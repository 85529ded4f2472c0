// SVG diagrams rasterised safely: pixels right, and nothing fetched or run — a local HTTP server
// counts every request an external href, CSS url(), @import, <script> or external entity could make.
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rasteriseSvg, sanitiseSvg } from '../../src/capture/svg';
import { ImageError } from '../../src/images';
import { decodePng, encodePng, pixelAt, solidImage } from '../fixtures/png';

const RED = [255, 0, 0, 255];
const WHITE = [255, 255, 255, 255];

describe('SVG rasterised safely', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lens-svg-'));
  const greenPng = join(dir, 'green.png');

  before(async () => {
    writeFileSync(greenPng, encodePng(400, 200, solidImage(400, 200, [0, 200, 0, 255])));
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/png' }).end(encodePng(400, 200, solidImage(400, 200, [0, 0, 255, 255])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('draws a diagram crisp, at a useful size, on white', async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100"><rect x="20" y="10" width="50" height="30" fill="#ff0000"/></svg>`;
    const capture = await rasteriseSvg(Buffer.from(svg), 'flow.svg');
    assert.equal(capture.name, 'flow.png');
    assert.deepEqual([capture.width, capture.height], [2048, 1024]);
    const png = decodePng(capture.bytes);
    const k = 2048 / 200;
    assert.deepEqual(pixelAt(png, Math.round(45 * k), Math.round(25 * k)), RED, 'inside the rectangle');
    assert.deepEqual(pixelAt(png, Math.round(100 * k), Math.round(80 * k)), WHITE, 'the background is white, not transparent');
  });

  it('fetches no external reference and runs no script', async () => {
    const svg = `<?xml version="1.0"?>
<!DOCTYPE svg [ <!ENTITY remote SYSTEM "${base}/entity"> <!ENTITY local SYSTEM "file:///etc/hostname"> ]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="400" height="200" onload="fetch('${base}/onload')">
  <style>@import url("${base}/import.css"); rect.bg { fill: url(${base}/fill.svg#p) }</style>
  <script>fetch('${base}/script'); document.documentElement.setAttribute('fill', 'red');</script>
  <script href="${base}/script.js"/>
  <image href="${base}/image.png" x="0" y="0" width="400" height="200"/>
  <image xlink:href="${base}/xlink.png" x="0" y="0" width="400" height="200"/>
  <image href="file://${greenPng}" x="0" y="0" width="400" height="200"/>
  <image href="${greenPng}" x="0" y="0" width="400" height="200"/>
  <use href="${base}/use.svg#shape"/>
  <rect class="bg" style="fill: url('${base}/style.svg#p')" x="0" y="0" width="10" height="10"/>
  <foreignObject width="400" height="200"><iframe xmlns="http://www.w3.org/1999/xhtml" src="${base}/iframe"/></foreignObject>
  <text x="10" y="190">&remote;&local;</text>
</svg>`;
    const capture = await rasteriseSvg(Buffer.from(svg), 'hostile.svg');
    assert.deepEqual(requests, [], 'no request reached the server');
    const png = decodePng(capture.bytes);
    let coloured = 0;
    for (let i = 0; i < png.rgba.length; i += 4) {
      const [r, g, b] = [png.rgba[i]!, png.rgba[i + 1]!, png.rgba[i + 2]!];
      if ((g > 150 && r < 100) || (b > 150 && r < 100)) coloured++;
    }
    assert.equal(coloured, 0, 'neither the local file nor a remote image was drawn');
  });

  it('keeps what stays inside the document: fragments and inline images', () => {
    const kept = sanitiseSvg(`<svg><defs><linearGradient id="g"/></defs><rect fill="url(#g)"/><use href="#a"/><image href="data:image/png;base64,AAAA"/></svg>`);
    assert.match(kept, /url\(#g\)/);
    assert.match(kept, /href="#a"/);
    assert.match(kept, /href="data:image\/png;base64,AAAA"/);
    const stripped = sanitiseSvg(`<svg><image href="data:text/html,<script>x</script>"/><a href="javascript:alert(1)"/><rect onclick="x()"/></svg>`);
    assert.doesNotMatch(stripped, /data:text|javascript:|onclick|<script/);
  });

  it('refuses empty, non-SVG, broken and sizeless files, and caps a huge declared size', async () => {
    const refuses = async (bytes: string, re: RegExp) =>
      assert.rejects(rasteriseSvg(Buffer.from(bytes), 'd.svg'), (e: unknown) => e instanceof ImageError && re.test(e.message));
    await refuses('', /empty \(0 bytes\)/);
    await refuses('just text', /not an SVG/);
    await refuses('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect', /not a valid SVG|could not be drawn/);
    await refuses('<svg xmlns="http://www.w3.org/2000/svg"></svg>', /no size|not a valid SVG/);
    const huge = await rasteriseSvg(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200000" height="100000"><rect width="200000" height="100000" fill="red"/></svg>'), 'huge.svg');
    assert.deepEqual([huge.width, huge.height], [2048, 1024]);
  });
});
