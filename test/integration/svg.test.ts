// SVG diagrams rasterised safely, through the real renderer child process: pixels right, nothing
// fetched or run (a local HTTP server records every request an external href, CSS url(), @import,
// processing instruction, <script> or entity could make), no local file inlined, and every input
// answered within the deadline, drawn or refused with a clear message.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { rasteriseSvg, SVG_DEADLINE_MS } from '../../src/capture/svg';
import { ImageError } from '../../src/images';
import { hostileSvg, SVG_NS, XLINK_NS } from '../fixtures/hostile-svg';
import { decodePng, encodePng, pixelAt, solidImage } from '../fixtures/png';

const RED = [255, 0, 0, 255];
const WHITE = [255, 255, 255, 255];

/** Renderer processes this test process started that still exist, even as zombies (each must be gone once its file is answered). */
function renderers(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,stat=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /svgRasteriser|<defunct>/.test(l));
}

describe('SVG rasterised safely', () => {
  let server: Server;
  let base: string;
  const requests: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lens-svg-'));
  const greenPng = join(dir, 'green.png');
  /** Starting the renderer (Node, sharp, and here tsx) is not the file's cost: measured on a trivial file. */
  let startup = 0;

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

  /** Rasterises `svg`: a PNG or an ImageError, never a request, never a leftover process, never past the deadline. */
  async function attempt(svg: string, name: string): Promise<{ png: ReturnType<typeof decodePng> | null; error: ImageError | null; ms: number }> {
    requests.length = 0;
    const started = performance.now();
    let png = null;
    let error = null;
    try {
      png = decodePng((await rasteriseSvg(Buffer.from(svg), name)).bytes);
    } catch (err) {
      assert.ok(err instanceof ImageError, `${name}: an ImageError, not ${String(err)}`);
      error = err;
    }
    const ms = performance.now() - started;
    assert.deepEqual(requests, [], `${name}: no request reached the server`);
    assert.deepEqual(renderers(), [], `${name}: the renderer is gone`);
    // The kill and the answer's trip back get a little slack.
    assert.ok(ms <= startup + SVG_DEADLINE_MS + 300, `${name}: answered in ${ms.toFixed(0)} ms (renderer start ${startup.toFixed(0)} ms, deadline ${SVG_DEADLINE_MS} ms)`);
    return { png, error, ms };
  }

  /** Pixels that are the local file's green or the server's blue. */
  function foreignPixels(png: ReturnType<typeof decodePng>): number {
    let n = 0;
    for (let i = 0; i < png.rgba.length; i += 4) {
      const [r, g, b] = [png.rgba[i]!, png.rgba[i + 1]!, png.rgba[i + 2]!];
      if ((g > 150 && r < 100 && b < 100) || (b > 150 && r < 100 && g < 100)) n++;
    }
    return n;
  }

  it('draws a diagram crisp, at a useful size, on white', async () => {
    const svg = `<svg xmlns="${SVG_NS}" width="200" height="100" viewBox="0 0 200 100"><rect x="20" y="10" width="50" height="30" fill="#ff0000"/></svg>`;
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const capture = await rasteriseSvg(Buffer.from(svg), 'flow.svg');
      startup = Math.max(startup, performance.now() - started);
      assert.equal(capture.name, 'flow.png');
      assert.deepEqual([capture.width, capture.height], [2048, 1024]);
      const png = decodePng(capture.bytes);
      const k = 2048 / 200;
      assert.deepEqual(pixelAt(png, Math.round(45 * k), Math.round(25 * k)), RED, 'inside the rectangle');
      assert.deepEqual(pixelAt(png, Math.round(100 * k), Math.round(80 * k)), WHITE, 'the background is white, not transparent');
    }
  });

  it('draws what stays inside the document: <use> of #id under any XLink prefix, gradients, inline images', async () => {
    const red = encodePng(4, 4, solidImage(4, 4, [255, 0, 0, 255])).toString('base64');
    const { png } = await attempt(
      `<svg xmlns="${SVG_NS}" xmlns:q="${XLINK_NS}" width="100" height="100"><defs><rect id="r" width="40" height="40" fill="red"/></defs><use q:href="#r" x="50" y="50"/><image href="data:image/png;base64,${red}" x="0" y="0" width="40" height="40"/></svg>`,
      'inside.svg',
    );
    assert.ok(png);
    assert.deepEqual(pixelAt(png, Math.round(png.width * 0.7), Math.round(png.height * 0.7)), RED, 'the <use> of #r');
    assert.deepEqual(pixelAt(png, Math.round(png.width * 0.2), Math.round(png.height * 0.2)), RED, 'the inline image');
    assert.deepEqual(pixelAt(png, Math.round(png.width * 0.45), Math.round(png.height * 0.2)), WHITE);
  });

  it('fetches no external reference, inlines no local file and runs no script', async () => {
    const { png } = await attempt(
      `<?xml version="1.0"?>
<?xml-stylesheet type="text/css" href="${base}/pi.css"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "${base}/svg11.dtd" [ <!ENTITY % p SYSTEM "${base}/parameter"> %p; ]>
<svg xmlns="${SVG_NS}" xmlns:xlink="${XLINK_NS}" xmlns:q="${XLINK_NS}" width="400" height="200" onload="fetch('${base}/onload')" xml:base="${base}/base/">
  <style>@import url("${base}/import.css"); @\\69mport "${base}/escaped-import.css"; rect.bg { fill: url(${base}/fill.svg#p) } rect.e { fill: \\75rl(${base}/escaped.svg#p) } @font-face { font-family: x; src: url(${base}/font.woff) } text { font-family: x }</style>
  <script>fetch('${base}/script'); document.documentElement.setAttribute('fill', 'red');</script>
  <script href="${base}/script.js"/>
  <image href="${base}/image.png" x="0" y="0" width="400" height="200"/>
  <image xlink:href="${base}/xlink.png" x="0" y="0" width="400" height="200"/>
  <image q:href="${base}/q-prefix.png" x="0" y="0" width="400" height="200"/>
  <image href="&#104;ttp://127.0.0.1:${new URL(base).port}/char-ref.png" x="0" y="0" width="400" height="200"/>
  <image href="file://${greenPng}" x="0" y="0" width="400" height="200"/>
  <image href="${greenPng}" x="0" y="0" width="400" height="200"/>
  <image href="green.png" x="0" y="0" width="400" height="200"/>
  <image href="data:image/svg+xml;base64,${Buffer.from(`<svg xmlns="${SVG_NS}"><image href="${base}/nested.png" width="9" height="9"/></svg>`).toString('base64')}" width="400" height="200"/>
  <use href="${base}/use.svg#shape"/>
  <use q:href="file://${greenPng}#x"/>
  <rect class="bg" style="fill: url('${base}/style.svg#p')" x="0" y="0" width="10" height="10"/>
  <rect class="e" style="fill: \\75 rl(${base}/style-escaped.svg#p); stroke: u\\72l(${base}/stroke.svg#p)" mask="url(${base}/mask.svg#m)" x="0" y="0" width="10" height="10"/>
  <filter id="f"><feImage href="${base}/feimage.png"/></filter><rect filter="url(#f)" width="400" height="200"/>
  <foreignObject width="400" height="200"><iframe xmlns="http://www.w3.org/1999/xhtml" src="${base}/iframe"/></foreignObject>
  <animate attributeName="href" to="${base}/animate.png"/><set attributeName="xlink:href" to="${base}/set.png"/>
  <a xlink:href="${base}/link"><text x="10" y="190">drawn</text></a>
</svg>`,
      'hostile.svg',
    );
    assert.ok(png, 'the safe parts are drawn');
    assert.equal(foreignPixels(png), 0, 'neither the local file nor a remote image was drawn');
  });

  it('refuses what would cost too much or expand without end, quickly and clearly', async () => {
    let fanOut = '<rect id="l0" width="1" height="1" fill="red"/>';
    for (let i = 1; i < 11; i++) fanOut += `<g id="l${i}">${`<use href="#l${i - 1}"/>`.repeat(10)}</g>`;
    const lol = `<!DOCTYPE svg [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]>`;
    const cases: Array<[string, string, RegExp]> = [
      ['fan-out.svg', `<svg xmlns="${SVG_NS}" width="100" height="100"><defs>${fanOut}</defs><use href="#l10"/></svg>`, /fan-out\.svg has more than 100,000 elements once its <use> references are expanded/],
      ['laughs.svg', `${lol}<svg xmlns="${SVG_NS}" width="100" height="100"><text y="50">&lol9;</text></svg>`, /laughs\.svg uses an XML entity other than XML's own five/],
      ['xxe.svg', `<!DOCTYPE svg [<!ENTITY x SYSTEM "${base}/entity"><!ENTITY f SYSTEM "file://${greenPng}">]><svg xmlns="${SVG_NS}" width="9" height="9"><text>&x;&f;</text></svg>`, /xxe\.svg uses an XML entity/],
      ['loop.svg', `<svg xmlns="${SVG_NS}" width="9" height="9"><g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g></svg>`, /loop\.svg refers to itself in a loop/],
      ['deep.svg', `<svg xmlns="${SVG_NS}" width="9" height="9">${'<g>'.repeat(100_000)}${'</g>'.repeat(100_000)}</svg>`, /deep\.svg has more than 200 levels of nesting/],
      ['many.svg', `<svg xmlns="${SVG_NS}" width="9" height="9">${'<rect/>'.repeat(150_000)}</svg>`, /many\.svg has more than 100,000 elements;/],
      ['long.svg', `<svg xmlns="${SVG_NS}" width="9" height="9"><path d="${'M1 1'.repeat(5_500_000)}"/></svg>`, /long\.svg is over 20 MB/],
      ['broken.svg', `<svg xmlns="${SVG_NS}" width="10" height="10"><rect`, /broken\.svg is not a valid SVG image: it is not well-formed XML/],
      ['sizeless.svg', `<svg xmlns="${SVG_NS}"></svg>`, /sizeless\.svg has no size|sizeless\.svg is not a valid SVG/],
      ['text.txt.svg', 'just text', /not an SVG image \(no <svg> element\)/],
      // Within every limit, yet slow for librsvg (text layout): stopped at the deadline.
      ['labels.svg', `<svg xmlns="${SVG_NS}" width="1000" height="1000">${Array.from({ length: 60_000 }, (_, i) => `<text x="${(i % 100) * 10}" y="${Math.floor(i / 100) * 2}" font-size="3">label ${i}</text>`).join('')}</svg>`, /labels\.svg took more than 2 s to draw and was stopped/],
    ];
    for (const [name, svg, re] of cases) {
      const { error } = await attempt(svg, name);
      assert.ok(error, `${name} is refused`);
      assert.match(error.message, re);
    }
    await assert.rejects(rasteriseSvg(Buffer.alloc(0), 'empty.svg'), /empty\.svg is empty \(0 bytes\)/);
  });

  it('draws or refuses huge attribute values in time', async () => {
    for (const [name, attr] of [['path.svg', `d="${'L1 1'.repeat(4_500_000)}"`], ['class.svg', `class="${'a '.repeat(9_000_000)}"`], ['points.svg', `points="${'1,2 '.repeat(4_500_000)}"`]]) {
      await attempt(`<svg xmlns="${SVG_NS}" width="9" height="9"><path ${attr} fill="red"/></svg>`, name!);
    }
  });

  it('caps a huge declared size', async () => {
    const { png } = await attempt(`<svg xmlns="${SVG_NS}" width="200000" height="100000"><rect width="200000" height="100000" fill="red"/></svg>`, 'huge.svg');
    assert.deepEqual([png?.width, png?.height], [2048, 1024]);
  });

  it('over generated hostile markup: nothing fetched, nothing left running, every file answered in time', async () => {
    const docs = fc.sample(hostileSvg(base), { numRuns: 8, seed: Date.now() });
    for (const [i, doc] of docs.entries()) {
      const { png } = await attempt(doc, `fuzz-${i}.svg`);
      if (png) assert.equal(foreignPixels(png), 0, `fuzz-${i}.svg: nothing from outside was drawn\n${doc}`);
    }
  });
});
