// The region list's exports (src/grounding/exports.ts) from the public result the host builds
// (toGroundingResult): exact numbers on HiDPI captures — CSS pixels for Playwright, physical
// pixels or macOS points for pyautogui — and CSV / Markdown that hostile labels cannot break.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Region } from '../../src/grounding';
import { clickPoint, playwrightClicks, pyautoguiClicks, regionsCsv, regionsJson, regionsMarkdown } from '../../src/grounding/exports';
import { createTransform, toGroundingResult } from '../../src/images';

const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', 'grounding-result.v1.json'), 'utf8')) as object);

/** A capture of `logical` CSS pixels at `dpr` device pixels each. */
function capture(width: number, height: number, dpr: number, regions: Region[], answer = 'answer') {
  const t = createTransform({ stored: { width, height }, model: { width: 1792, height: 1344 }, devicePixelRatio: dpr });
  return toGroundingResult(t, answer, regions, '/tmp/shot.png');
}

const save: Region = { kind: 'box', label: 'Save', box: [0.1, 0.2, 0.3, 0.4] };
const centre: Region = { kind: 'point', label: null, point: [0.5, 0.5] };
const diamond: Region = { kind: 'quad', label: 'sign', quad: [0.5, 0.1, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5] };

describe('region exports', () => {
  it('devicePixelRatio 2 (a Retina 1440×900 screen, 2880×1800 px): Playwright in CSS pixels, pyautogui in physical pixels or macOS points', () => {
    const result = capture(2880, 1800, 2, [save, centre, diamond]);
    assert.deepEqual(
      result.regions.map((r) => (r.kind === 'box' ? r.box : r.kind === 'point' ? r.point : r.quad)),
      [
        [288, 360, 864, 720],
        [1440, 900],
        [1440, 180, 2592, 900, 1440, 1620, 288, 900],
      ],
    );
    assert.deepEqual(result.regions.map(clickPoint), [
      [576, 540],
      [1440, 900],
      [1440, 900],
    ]);
    assert.equal(playwrightClicks(result), ['await page.mouse.click(288, 270); // Save', 'await page.mouse.click(720, 450);', 'await page.mouse.click(720, 450); // sign'].join('\n'));
    assert.equal(
      pyautoguiClicks(result, 'win32'),
      [
        "# physical pixels (pyautogui is DPI-aware on Windows; on macOS divide by 2), from the captured screen's top left; add its origin for a second monitor",
        'pyautogui.click(576, 540)  # Save',
        'pyautogui.click(1440, 900)',
        'pyautogui.click(1440, 900)  # sign',
      ].join('\n'),
    );
    assert.equal(
      pyautoguiClicks(result, 'darwin'),
      [
        "# macOS: points (the capture's pixels / 2), from the captured screen's top left; add its origin for a second monitor",
        'pyautogui.click(288, 270)  # Save',
        'pyautogui.click(720, 450)',
        'pyautogui.click(720, 450)  # sign',
      ].join('\n'),
    );
  });

  it('devicePixelRatio 1.5 (1920×1080 CSS px, 2880×1620 px): fractional CSS pixels kept to 0.01, pyautogui rounded', () => {
    // 0.201 × 2880 = 578.88 → 579: the box's centre falls between pixels (577.5, 163).
    const odd: Region = { kind: 'box', label: 'tiny icon', box: [0.2, 0.1, 0.201, 0.101] };
    const result = capture(2880, 1620, 1.5, [save, odd]);
    assert.deepEqual(result.regions[0]!.kind === 'box' && result.regions[0]!.box, [288, 324, 864, 648]);
    assert.deepEqual(result.regions[1]!.kind === 'box' && result.regions[1]!.box, [576, 162, 579, 164]);
    assert.equal(playwrightClicks(result), ['await page.mouse.click(384, 324); // Save', 'await page.mouse.click(385, 108.67); // tiny icon'].join('\n'));
    assert.deepEqual(pyautoguiClicks(result, 'linux').split('\n').slice(1), ['pyautogui.click(576, 486)  # Save', 'pyautogui.click(578, 163)  # tiny icon']);
    assert.deepEqual(pyautoguiClicks(result, 'darwin').split('\n').slice(1), ['pyautogui.click(384, 324)  # Save', 'pyautogui.click(385, 109)  # tiny icon']);
    assert.match(pyautoguiClicks(result, 'darwin').split('\n')[0]!, /pixels \/ 1\.5/);
  });

  it('JSON is the public result, valid against the JSON Schema', () => {
    const result = capture(2880, 1800, 2, [save, centre, diamond], '<ref>Save</ref><box>[[100,200,300,400]]</box>');
    const text = regionsJson(result);
    const parsed = JSON.parse(text) as unknown;
    assert.deepEqual(parsed, result);
    assert.ok(validate(parsed), JSON.stringify(validate.errors));
    assert.deepEqual((parsed as typeof result).image, { path: '/tmp/shot.png', width: 2880, height: 1800, devicePixelRatio: 2 });
  });

  it('CSV: one row per region, blank cells where a kind has none, labels quoted and formulas defused', () => {
    const hostile: Region = { kind: 'box', label: '=HYPERLINK("x"),1', box: [0, 0, 0.5, 0.5] };
    const result = capture(2880, 1800, 2, [save, centre, diamond, hostile]);
    assert.equal(
      regionsCsv(result),
      [
        'label,kind,x1,y1,x2,y2,x3,y3,x4,y4,click_x,click_y',
        'Save,box,288,360,864,720,,,,,576,540',
        ',point,1440,900,,,,,,,1440,900',
        'sign,quad,1440,180,2592,900,1440,1620,288,900,1440,900',
        `"'=HYPERLINK(""x""),1",box,0,0,1440,900,,,,,720,450`,
        '',
      ].join('\r\n'),
    );
  });

  it('Markdown: heading, the annotated PNG beside it, a table a label cannot break out of', () => {
    const hostile: Region = { kind: 'point', label: 'a | b <img src=x>\nnext', point: [0.25, 0.75] };
    const result = capture(2880, 1800, 2, [save, hostile]);
    assert.equal(
      regionsMarkdown(result, 'shot.png', 'shot regions.png'),
      [
        '### shot.png: 2 regions',
        '',
        '![shot.png with 2 regions drawn](shot%20regions.png)',
        '',
        '| # | label | kind | pixels | click |',
        '| ---: | --- | --- | --- | --- |',
        '| 1 | Save | box | 288, 360, 864, 720 | 576, 540 |',
        '| 2 | a \\| b &lt;img src=x&gt; next | point | 720, 1350 | 720, 1350 |',
        '',
        'Original pixels of the 2880×1800 image, origin top left (a HiDPI capture: 2 device pixels per CSS pixel); found by InternVL Lens.',
        '',
      ].join('\n'),
    );
  });
});
