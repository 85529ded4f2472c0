// What the region list under an image exports: the public grounding result as JSON, CSV, Markdown
// for an issue report, and click snippets for Playwright and pyautogui. Pure text from a
// GroundingResult (src/protocol/grounding.ts): every number is one of its whole original pixels,
// or one derived from them here, once:
//   click point   a box's centre, a point itself, a quad's centroid (the mean of its corners), in
//                 original (device) pixels of the capture, origin its top left
//   Playwright    CSS pixels: device pixels / image.devicePixelRatio (page.mouse.click takes
//                 fractions; two decimals kept). Right for a page screenshot (the origin is the
//                 viewport's); a screen capture's origin is the screen's, not a page's.
//   pyautogui     on Windows pyautogui makes its process DPI-aware and on Linux X11 there is no
//                 scaling: both click in physical pixels, the capture's own. On macOS it clicks in
//                 points: device pixels / devicePixelRatio. Whole numbers either way; a capture of
//                 a second monitor needs that monitor's origin added (the snippet says so).
import type { GroundingResult, PublicRegion } from '../protocol/grounding';

/** The exports the region list offers; the files are written by the host, the snippets copied. */
export const REGION_EXPORT_FORMATS = ['json', 'csv', 'markdown', 'playwright', 'pyautogui'] as const;
export type RegionExportFormat = (typeof REGION_EXPORT_FORMATS)[number];

/** The operating systems whose pyautogui coordinates differ: macOS clicks in points, the rest in physical pixels. */
export type PyautoguiPlatform = 'darwin' | 'win32' | 'linux';

/** A region's numbers in its own order (box x1 y1 x2 y2, point x y, quad's four corners). */
export function publicCoordinates(r: PublicRegion): readonly number[] {
  return r.kind === 'box' ? r.box : r.kind === 'point' ? r.point : r.quad;
}

/** Where a click on the region lands, in original pixels (fractional for an odd-sized box). */
export function clickPoint(r: PublicRegion): [x: number, y: number] {
  if (r.kind === 'point') return [r.point[0], r.point[1]];
  if (r.kind === 'box') return [(r.box[0] + r.box[2]) / 2, (r.box[1] + r.box[3]) / 2];
  const q = r.quad;
  return [(q[0] + q[2] + q[4] + q[6]) / 4, (q[1] + q[3] + q[5] + q[7]) / 4];
}

/** A number with at most `digits` decimals, no trailing zeros (`100.25`, `150`). */
function fixed(n: number, digits: number): string {
  const f = 10 ** digits;
  return String(Math.round(n * f) / f);
}

/** One line of a label for a comment: no line breaks, bounded. */
function commentLabel(label: string | null): string {
  const one = (label ?? '').replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

/** `await page.mouse.click(x, y);` per region, in CSS pixels. */
export function playwrightClicks(result: GroundingResult): string {
  const dpr = result.image.devicePixelRatio;
  return result.regions
    .map((r) => {
      const [x, y] = clickPoint(r);
      const label = commentLabel(r.label);
      return `await page.mouse.click(${fixed(x / dpr, 2)}, ${fixed(y / dpr, 2)});${label ? ` // ${label}` : ''}`;
    })
    .join('\n');
}

/** pyautogui's unit for a capture on `platform`: points on macOS, physical pixels elsewhere. */
export function pyautoguiScale(result: GroundingResult, platform: PyautoguiPlatform): number {
  return platform === 'darwin' ? result.image.devicePixelRatio : 1;
}

/** `pyautogui.click(x, y)` per region, after one comment line saying which pixels they are. */
export function pyautoguiClicks(result: GroundingResult, platform: PyautoguiPlatform): string {
  const scale = pyautoguiScale(result, platform);
  const unit =
    platform === 'darwin'
      ? `macOS: points (the capture's pixels / ${result.image.devicePixelRatio})`
      : `physical pixels (pyautogui is DPI-aware on Windows${result.image.devicePixelRatio !== 1 ? `; on macOS divide by ${result.image.devicePixelRatio}` : ''})`;
  const lines = [`# ${unit}, from the captured screen's top left; add its origin for a second monitor`];
  for (const r of result.regions) {
    const [x, y] = clickPoint(r);
    const label = commentLabel(r.label);
    lines.push(`pyautogui.click(${Math.round(x / scale)}, ${Math.round(y / scale)})${label ? `  # ${label}` : ''}`);
  }
  return lines.join('\n');
}

/** The result as other programs read it (schemas/grounding-result.v1.json). */
export function regionsJson(result: GroundingResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/** A CSV field: quoted when it must be; a label that a spreadsheet would run as a formula is defused. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = ['label', 'kind', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3', 'x4', 'y4', 'click_x', 'click_y'] as const;

/** One row per region (RFC 4180, CRLF): its coordinates in original pixels, blank where the kind has none, and its click point. */
export function regionsCsv(result: GroundingResult): string {
  const rows = [CSV_HEADER.join(',')];
  for (const r of result.regions) {
    const c = publicCoordinates(r);
    const cells: (string | number | null)[] = [r.label, r.kind];
    for (let k = 0; k < 8; k++) cells.push(c[k] ?? null);
    const [x, y] = clickPoint(r);
    cells.push(Number(fixed(x, 1)), Number(fixed(y, 1)));
    rows.push(cells.map(csvField).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** Text for a Markdown table cell: one line, no `|`, no HTML. */
function markdownCell(s: string): string {
  return s
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/[\\|`*_[\]]/g, (c) => `\\${c}`)
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * An issue report: a heading, the annotated PNG (`pngName`, written beside the Markdown file) and
 * the regions as a table in original pixels.
 */
export function regionsMarkdown(result: GroundingResult, name: string, pngName: string): string {
  const { width, height, devicePixelRatio } = result.image;
  const count = `${result.regions.length} region${result.regions.length === 1 ? '' : 's'}`;
  const lines = [
    `### ${markdownCell(name)}: ${count}`,
    '',
    `![${markdownCell(name)} with ${count} drawn](${encodeURI(pngName)})`,
    '',
    '| # | label | kind | pixels | click |',
    '| ---: | --- | --- | --- | --- |',
  ];
  result.regions.forEach((r, i) => {
    const [x, y] = clickPoint(r);
    lines.push(`| ${i + 1} | ${markdownCell(r.label ?? '')} | ${r.kind} | ${publicCoordinates(r).join(', ')} | ${fixed(x, 1)}, ${fixed(y, 1)} |`);
  });
  lines.push(
    '',
    `Original pixels of the ${width}×${height} image, origin top left${devicePixelRatio !== 1 ? ` (a HiDPI capture: ${devicePixelRatio} device pixels per CSS pixel)` : ''}; found by InternVL Lens.`,
    '',
  );
  return lines.join('\n');
}
