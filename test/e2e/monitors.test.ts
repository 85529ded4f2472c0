// Capture Screen's monitor choice in a real VS Code (code-server) whose extension host sees a
// real two-monitor X server (Xvnc, test/fixtures/monitors.ts): the quick pick lists both
// monitors and "All screens"; each choice ends with exactly those pixels stored and in the chat.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { QUICK_INPUT, runCommand, useLensWorkbench } from './harness';
import { captureAllScreens } from '../../src/capture/monitors';
import { startMultiMonitorDisplay } from '../fixtures/monitors';
import { decodePng, pixelAt } from '../fixtures/png';
import type { XDisplay } from '../fixtures/xdisplay';
import { waitFor } from '../fixtures/wait';

const LEFT = { x: 0, y: 0, width: 1280, height: 720 };
const RIGHT = { x: 1280, y: 0, width: 640, height: 480 };
const RED = [192, 0, 0, 255];
const BLUE = [0, 0, 192, 255];

describe('Capture Screen with two monitors in a real VS Code', () => {
  let x: XDisplay;
  const lens = useLensWorkbench('monitors', async () => {
    x = await startMultiMonitorDisplay([LEFT, RIGHT]);
    await x.exec('xsetroot', ['-solid', '#ff00ff']);
    for (const [rect, colour] of [
      [LEFT, '#c00000'],
      [RIGHT, '#0000c0'],
    ] as const) {
      x.run('xlogo', ['-bw', '0', '-bg', colour, '-fg', colour, '-geometry', `${rect.width}x${rect.height}+${rect.x}+${rect.y}`]);
    }
    // Painted, as this process sees the display (the extension host will see the same).
    process.env.DISPLAY = x.display;
    await waitFor('both monitors painted', async () => {
      const all = decodePng((await captureAllScreens()).bytes);
      return pixelAt(all, 1, 1).join() === RED.join() && pixelAt(all, RIGHT.x + RIGHT.width - 1, RIGHT.height - 1).join() === BLUE.join() ? true : undefined;
    });
    return { env: { DISPLAY: x.display }, viewport: { width: 1280, height: 800 } };
  });

  after(async () => {
    await x?.stop();
  });

  /** The newest stored PNG once there are more than `count`. */
  async function newImage(count: number): Promise<ReturnType<typeof decodePng>> {
    const dir = lens.storagePath('attachments');
    const path = await waitFor('a new stored capture', async () => {
      const names = readdirSync(dir, { withFileTypes: true }).filter((e) => e.name.endsWith('.png'));
      if (names.length <= count) return undefined;
      return names.map((e) => join(dir, e.name)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).at(-1);
    });
    return decodePng(readFileSync(path));
  }

  const storedCount = () => {
    try {
      return readdirSync(lens.storagePath('attachments')).filter((n) => n.endsWith('.png')).length;
    } catch {
      return 0;
    }
  };

  /** Runs Capture Screen, checks the choices, picks the row labelled `label`, keeps the capture without asking. */
  async function captureScreenPicking(label: string): Promise<ReturnType<typeof decodePng>> {
    const before = storedCount();
    await runCommand(lens.page, 'InternVL Lens: Capture Screen');
    const widget = lens.page.locator(QUICK_INPUT);
    const rows = widget.locator('.monaco-list-row');
    await waitFor('the screen choice', async () => ((await rows.count()) === 3 ? true : undefined));
    const labels = await rows.evaluateAll((els) => els.map((e) => e.querySelector('.label-name')?.textContent));
    assert.deepEqual(labels, ['VNC-0', 'VNC-1', 'All screens']);
    await rows.filter({ has: lens.page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).click();
    // The question box: Esc stores the capture without asking.
    await waitFor('the question box', async () => ((await widget.locator('input.input').inputValue()) === 'Describe this screenshot.' ? true : undefined));
    await lens.page.keyboard.press('Escape');
    return newImage(before);
  }

  it('picking one monitor stores exactly its pixels', async () => {
    const png = await captureScreenPicking('VNC-1');
    assert.deepEqual([png.width, png.height], [RIGHT.width, RIGHT.height]);
    assert.deepEqual(pixelAt(png, 0, 0), BLUE);
    assert.deepEqual(pixelAt(png, RIGHT.width - 1, RIGHT.height - 1), BLUE);
  });

  it('"All screens" stores one image of the whole desktop, each monitor at its place', async () => {
    const png = await captureScreenPicking('All screens');
    assert.deepEqual([png.width, png.height], [LEFT.width + RIGHT.width, LEFT.height]);
    assert.deepEqual(pixelAt(png, LEFT.width - 1, LEFT.height - 1), RED, 'left monitor');
    assert.deepEqual(pixelAt(png, RIGHT.x, 0), BLUE, 'right monitor');
    assert.deepEqual(pixelAt(png, RIGHT.x, RIGHT.height), [0, 0, 0, 255], 'the gap below the right monitor');
  });
});
