// Reads the chat overlay's canvas: the RGBA under client points (Page or webview Frame).
import type { Frame, Page } from 'playwright-core';

/** The overlay's pixel under each client point (x, y), or null where the overlay does not cover it. */
export async function overlayPixels(target: Page | Frame, points: [number, number][], which = '.stage.has-regions canvas.overlay'): Promise<(number[] | null)[]> {
  return target.evaluate(
    ({ pts, selector }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(selector)!;
      const r = canvas.getBoundingClientRect();
      const ctx = canvas.getContext('2d')!;
      return pts.map(([x, y]) => {
        if (x < r.left || y < r.top || x >= r.right || y >= r.bottom) return null;
        const px = Math.floor(((x - r.left) * canvas.width) / r.width);
        const py = Math.floor(((y - r.top) * canvas.height) / r.height);
        return [...ctx.getImageData(px, py, 1, 1).data];
      });
    },
    { pts: points, selector: which },
  );
}

/** The client box of the image the regions are drawn over. */
export async function regionImageBox(target: Page | Frame, which = '.stage.has-regions img'): Promise<[left: number, top: number, width: number, height: number]> {
  return target.evaluate((selector) => {
    const r = document.querySelector(selector)!.getBoundingClientRect();
    return [r.left, r.top, r.width, r.height] as [number, number, number, number];
  }, which);
}
