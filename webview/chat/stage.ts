// The image viewer: an image with its regions drawn over it, a toolbar (overlay, zoom, export)
// and a region list. Regions are painted on one <canvas> laid over the visible part of the image
// rather than as one element each: 500 regions cost one element and a few hundred canvas calls,
// well inside a frame, where 500 positioned elements alone cost about a frame of style and layout.
// Hover and click are hit-tested here; the region list is the keyboard and screen-reader view.
import { labelColour } from '../../src/grounding/colour';
import { modelSight } from '../../src/images/tiling';
import type { RegionExportFormat } from '../../src/grounding/exports';
import type { PixelRect } from '../../src/protocol/rect';
import type { CoarseShape, ImageView, RegionView } from '../../src/protocol/webview';
import { el, iconButton, withClass } from '../shared/dom';
import type { ViewerState } from './state';

export type Regions = readonly RegionView[];

export interface StageHost {
  /** Copy region `index`'s pixel coordinates (the host writes the clipboard). */
  copy(index: number): void;
  exportAnnotated(): void;
  /** Export the regions (the host writes the file or the clipboard). */
  exportRegions(format: RegionExportFormat): void;
  /** The pointer is over these regions now (empty: over none). */
  hover(indexes: number[]): void;
  /** Ask about a region the user drew: a rectangle in the image's upright original pixels. */
  askRegion(imageId: string, rect: PixelRect): void;
}

const MIN_ZOOM = 1;
const MAX_ZOOM = 16;
/** Up to this many regions the list starts open and labels always show; beyond, they wait for the user. */
export const MANY_REGIONS = 20;
/** A point's crosshair arm and how near (CSS px) the pointer must come to hit it. */
const CROSSHAIR = 8;
const LINE = 2;
const LABEL_FONT = '11px sans-serif';
const LABEL_HEIGHT = 14;
/** A first-pass region a zoom-in refine moved is drawn this opaque. */
const COARSE_ALPHA = 0.4;

export function regionText(r: RegionView): string {
  if (r.kind === 'quad') return `quad ${[0, 2, 4, 6].map((k) => `(${r.pixels[k]}, ${r.pixels[k + 1]})`).join(' ')} px`;
  return r.kind === 'box' ? `[${r.pixels.join(', ')}] px` : `(${r.pixels.join(', ')}) px`;
}

/** Whether (x, y) lies inside the polygon of `xs`/`ys` (even-odd rule; edges count as inside for hit tests). */
function insidePolygon(xs: readonly number[], ys: readonly number[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
    const [xi, yi, xj, yj] = [xs[i]!, ys[i]!, xs[j]!, ys[j]!];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Twice a polygon's area (its absolute value): hit tests prefer the smallest region. */
function polygonArea(xs: readonly number[], ys: readonly number[]): number {
  let sum = 0;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) sum += xs[j]! * ys[i]! - xs[i]! * ys[j]!;
  return Math.abs(sum) / 2;
}

const regionKindName = (r: RegionView) => (r.kind === 'box' ? 'box' : r.kind === 'quad' ? 'quad' : 'point');

const regionCount = (n: number) => `${n} region${n === 1 ? '' : 's'}`;

/** The region list's exports: its button text and what it does. */
const REGION_EXPORTS: [RegionExportFormat, string, string][] = [
  ['json', 'JSON', 'Save the regions as JSON in the public grounding schema'],
  ['csv', 'CSV', 'Save the regions as CSV (original pixels and click points)'],
  ['markdown', 'Markdown', 'Save a Markdown report for an issue: the annotated PNG and the list'],
  ['playwright', 'Copy as Playwright click', 'Copy await page.mouse.click(x, y) per region, in CSS pixels (device pixels / the capture\'s scale)'],
  ['pyautogui', 'Copy as pyautogui', 'Copy pyautogui.click(x, y) per region (physical pixels; points on macOS)'],
];

/**
 * Image elements of stages just disposed, by image id (a content hash: same id, same pixels): a
 * turn card is rendered afresh when its status changes or an error arrives, and its new stage
 * takes over the element already on the page, loaded and decoded, instead of loading the image
 * again (a fresh capture's first src is inline, later ones a file). Emptied once the re-render is over.
 */
const spareImages = new Map<string, HTMLImageElement>();

export class Stage {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly frame: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly overlay: HTMLCanvasElement;
  private regions: Regions = [];
  private colours: string[] = [];
  private hot = new Set<number>();
  private listBox: HTMLDetailsElement | null = null;
  private drawDue = false;
  private readonly resize = new ResizeObserver(() => this.draw());
  /** Where the part the model saw lies in the shown image (0..1): all of it unless it was cropped. */
  private readonly part: { x: number; y: number; w: number; h: number };

  /** Regions the question named (a region the user drew), 0..1 of the kept part: drawn in their own style. */
  private readonly referred: readonly (readonly [number, number, number, number])[];
  /** What the model saw: the tile grid drawn over the image, and a note on its resize and cost. */
  private showSight = false;
  /** View as the model sees it: the grid-sized copy instead of the original. */
  private modelView = false;
  private readonly sightNote = el('div', 'model-sight');
  /** Drag a rectangle to ask about it (the toolbar's Ask about a region). */
  private selecting = false;
  /** The rectangle drawn so far, 0..1 of the shown image: x1, y1, x2, y2. */
  private draft: [number, number, number, number] | null = null;
  private readonly draftBox = el('div', 'region-draft');

  constructor(
    private readonly image: ImageView,
    regions: Regions,
    private readonly state: ViewerState,
    private readonly host: StageHost,
    referred?: readonly (readonly [number, number, number, number])[],
  ) {
    this.referred = referred ?? [];
    const c = image.crop;
    this.part = c ? { x: c.x / image.width, y: c.y / image.height, w: c.width / image.width, h: c.height / image.height } : { x: 0, y: 0, w: 1, h: 1 };
    const figure = el('figure', 'stage');
    figure.dataset.imageId = image.id;
    this.element = figure;
    this.viewport = el('div', 'viewport');
    // The regions are placed in this box's coordinates: it holds the image and nothing else.
    this.frame = el('div', 'canvas');
    const spare = spareImages.get(image.id);
    spareImages.delete(image.id);
    this.img = spare ?? el('img');
    if (!spare) this.img.src = image.src;
    this.img.alt = image.name;
    this.img.width = image.width;
    this.img.height = image.height;
    this.img.draggable = false;
    this.overlay = el('canvas', 'overlay');
    this.overlay.setAttribute('role', 'img');
    this.draftBox.hidden = true;
    this.frame.append(this.img, this.overlay, this.draftBox);
    this.viewport.append(this.frame);
    figure.append(el('div', 'stage-tools'), this.viewport);
    figure.append(el('figcaption', undefined, `${image.name} · ${image.width}×${image.height} · ${image.tiles} tile${image.tiles === 1 ? '' : 's'} · ${image.tokens.toLocaleString('en')} tokens`));
    this.sightNote.hidden = true;
    this.sightNote.setAttribute('aria-live', 'polite');
    figure.append(this.sightNote);
    this.listen();
    this.setRegions(regions);
    this.img.addEventListener('load', () => this.draw());
    this.resize.observe(this.frame);
    if (state.zoom > 1) {
      // Re-apply after layout (the card was just re-rendered).
      requestAnimationFrame(() => {
        this.setZoom(state.zoom);
        [this.viewport.scrollLeft, this.viewport.scrollTop] = state.scroll;
      });
    }
  }

  /** Replaces the regions; a longer list that starts with the same regions only adds to the list. */
  setRegions(regions: Regions): void {
    const before = this.regions.length;
    const grew = before > 0 && regions.length >= before;
    this.regions = regions;
    this.colours = regions.map((r) => labelColour(r.label));
    this.element.classList.toggle('has-regions', regions.length > 0);
    this.overlay.setAttribute('aria-label', `${regionCount(regions.length)} over ${this.image.name}`);
    this.renderTools();
    if (regions.length === 0) {
      this.listBox?.remove();
      this.listBox = null;
    } else if (grew && this.listBox) {
      this.extendList(before);
    } else {
      this.listBox?.remove();
      this.listBox = this.regionList();
      this.element.append(this.listBox);
    }
    this.draw();
  }

  /** Lights up regions named elsewhere (their words, their list entries). */
  highlight(indexes: ReadonlySet<number>): void {
    this.hot = new Set(indexes);
    this.overlay.dataset.hot = [...this.hot].join(' ');
    for (const li of this.listBox?.querySelectorAll<HTMLElement>('li[data-index]') ?? []) li.classList.toggle('hot', this.hot.has(Number(li.dataset.index)));
    // Painting 500 regions takes well under a millisecond: no need to wait for a frame.
    this.draw();
  }

  dispose(): void {
    this.resize.disconnect();
    if (spareImages.size === 0) queueMicrotask(() => spareImages.clear());
    spareImages.set(this.image.id, this.img);
  }

  private renderTools(): void {
    const tools = this.element.querySelector('.stage-tools')!;
    const buttons: HTMLElement[] = [];
    if (this.regions.length > 0) {
      const toggle = iconButton(this.state.overlayHidden ? 'eye-closed' : 'eye', 'Show or hide the regions over the image', () => {
        this.state.overlayHidden = !this.state.overlayHidden;
        this.element.classList.toggle('overlay-hidden', this.state.overlayHidden);
        toggle.setAttribute('aria-pressed', String(!this.state.overlayHidden));
        toggle.querySelector('.codicon')!.className = `codicon codicon-${this.state.overlayHidden ? 'eye-closed' : 'eye'}`;
      });
      toggle.classList.add('toggle-overlay');
      toggle.setAttribute('aria-pressed', String(!this.state.overlayHidden));
      const exportButton = iconButton('export', 'Export PNG: the image with its regions drawn, at original resolution', () => this.host.exportAnnotated());
      exportButton.classList.add('export');
      buttons.push(toggle, exportButton);
    }
    if (this.image.grid) {
      const sight = iconButton('layout', 'What the model saw: its tile grid, the resize and what each part costs', () => this.setSight(!this.showSight));
      sight.classList.add('show-sight');
      sight.setAttribute('aria-pressed', String(this.showSight));
      buttons.push(sight);
    }
    if (this.showSight && this.image.modelSrc) {
      const view = iconButton(this.modelView ? 'file-media' : 'eye', this.modelView ? 'Show the original image' : 'View as the model sees it: the grid-sized copy it was given', () => this.setModelView(!this.modelView));
      view.classList.add('model-view');
      view.setAttribute('aria-pressed', String(this.modelView));
      buttons.push(view);
    }
    const select = iconButton('inspect', 'Ask about a region: drag a rectangle on the image', () => this.setSelecting(!this.selecting));
    select.classList.add('select-region');
    select.setAttribute('aria-pressed', String(this.selecting));
    buttons.push(select);
    if (this.draft) {
      const ask = el('button', 'ask-region', 'Ask about this region');
      ask.type = 'button';
      ask.title = "Put InternVL's region question, with this rectangle's box, in the question box";
      ask.addEventListener('click', () => this.askDraft());
      buttons.push(ask);
    }
    const zoomLevel = el('span', 'zoom-level', `${Math.round(this.state.zoom * 100)}%`);
    zoomLevel.setAttribute('aria-live', 'polite');
    buttons.push(
      withClass(iconButton('zoom-out', 'Zoom out', () => this.setZoom(this.state.zoom / 1.5)), 'zoom-out'),
      zoomLevel,
      withClass(iconButton('zoom-in', 'Zoom in (or Ctrl + wheel)', () => this.setZoom(this.state.zoom * 1.5)), 'zoom-in'),
      withClass(iconButton('arrow-both', 'Fit the panel', () => this.setZoom(1)), 'zoom-fit'),
    );
    tools.replaceChildren(...buttons);
    this.element.classList.toggle('overlay-hidden', this.state.overlayHidden);
  }

  private setSight(on: boolean): void {
    this.showSight = on;
    if (!on && this.modelView) this.setModelView(false);
    const grid = this.image.grid;
    this.sightNote.hidden = !on || !grid;
    if (on && grid) {
      const c = this.image.crop;
      const sight = modelSight(c ? c.width : this.image.width, c ? c.height : this.image.height, grid);
      this.sightNote.textContent = `What the model saw: ${sight.summary}. ${sight.parts}.`;
      this.sightNote.classList.toggle('costly', sight.costlyForSize);
    }
    this.renderTools();
    this.draw();
  }

  /** Swaps the shown image for the grid-sized copy the model got (stretched back to the same box), or back. */
  private setModelView(on: boolean): void {
    this.modelView = on;
    const src = on ? this.image.modelSrc : this.image.src;
    if (src) this.img.src = src;
    this.element.classList.toggle('model-view', on);
    this.renderTools();
  }

  private setSelecting(on: boolean): void {
    this.selecting = on;
    this.element.classList.toggle('selecting', on);
    this.draft = null;
    this.draftBox.hidden = true;
    this.renderTools();
  }

  /**
   * Shows the rectangle being drawn (0..1 of the shown image), or none. `tools`: show or drop the
   * Ask button now; not while a drag is under way, where a button added to a narrow toolbar wraps
   * it and moves the image under the pointer (seen in a 300 px side bar).
   */
  private setDraft(draft: [number, number, number, number] | null, tools = true): void {
    const had = this.draft !== null;
    this.draft = draft;
    this.draftBox.hidden = !draft;
    if (draft) {
      const [x1, y1, x2, y2] = draft;
      this.draftBox.style.cssText = `left:${x1 * 100}%;top:${y1 * 100}%;width:${(x2 - x1) * 100}%;height:${(y2 - y1) * 100}%`;
    }
    if (tools && had !== (draft !== null)) this.renderTools();
  }

  /** The drawn rectangle in the image's original pixels, to the host; the selection ends. */
  private askDraft(): void {
    const d = this.draft;
    if (!d) return;
    const { width, height } = this.image;
    const [x1, y1, x2, y2] = [Math.round(d[0] * width), Math.round(d[1] * height), Math.round(d[2] * width), Math.round(d[3] * height)];
    if (x2 > x1 && y2 > y1) this.host.askRegion(this.image.id, { x: x1, y: y1, width: x2 - x1, height: y2 - y1 });
    this.setSelecting(false);
  }

  /** Zoom (1 = fit the panel) with the point under `anchor` (viewport coordinates) kept in place. */
  setZoom(zoom: number, anchor?: [number, number]): void {
    const { viewport, frame, img, state } = this;
    const before = frame.getBoundingClientRect();
    const [ax, ay] = anchor ?? [viewport.clientWidth / 2, viewport.clientHeight / 2];
    const fx = before.width ? (viewport.scrollLeft + ax) / before.width : 0;
    const fy = before.height ? (viewport.scrollTop + ay) / before.height : 0;
    state.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
    this.element.classList.toggle('zoomed', state.zoom > 1);
    if (state.zoom > 1) {
      this.loadOriginal();
      // The width the image has when it fits: its own width, or the panel's when narrower.
      const fit = Math.min(img.width || Number(img.getAttribute('width')), viewport.clientWidth);
      frame.style.width = `${fit * state.zoom}px`;
    } else {
      frame.style.width = '';
    }
    const after = frame.getBoundingClientRect();
    viewport.scrollLeft = fx * after.width - ax;
    viewport.scrollTop = fy * after.height - ay;
    const label = this.element.querySelector('.zoom-level');
    if (label) label.textContent = `${Math.round(state.zoom * 100)}%`;
    this.draw();
  }

  private originalLoading = false;

  /** Zoomed in on a preview: swaps in the full-size original once it has loaded (no blank frame meanwhile). */
  private loadOriginal(): void {
    const original = this.image.original;
    if (!original || this.originalLoading || this.img.src === original) return;
    this.originalLoading = true;
    const full = new Image();
    full.addEventListener('load', () => (this.img.src = original), { once: true });
    // Written just after the preview: a zoom that early tries again next time.
    full.addEventListener('error', () => (this.originalLoading = false), { once: true });
    full.src = original;
  }

  private scheduleDraw(): void {
    if (this.drawDue) return;
    this.drawDue = true;
    requestAnimationFrame(() => {
      this.drawDue = false;
      this.draw();
    });
  }

  /**
   * Paints the regions on the overlay, which covers only the part of the image the viewport
   * shows: a 16× zoom of a huge screenshot would not fit in one canvas.
   */
  draw(): void {
    const { overlay, frame, viewport } = this;
    if (!frame.isConnected) return;
    // The image box's exact size: its height is fractional whenever the width is scaled
    // (clientHeight would round it and stretch every box by up to half a pixel at the bottom).
    const { width, height } = frame.getBoundingClientRect();
    if (width === 0 || height === 0) return;
    // The visible part of the image, in the image box's CSS pixels.
    const left = Math.max(0, Math.min(width, viewport.scrollLeft - frame.offsetLeft));
    const top = Math.max(0, Math.min(height, viewport.scrollTop - frame.offsetTop));
    const right = Math.min(width, left + viewport.clientWidth);
    const bottom = Math.min(height, top + (this.state.zoom > 1 ? viewport.clientHeight : height));
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.max(1, Math.round((right - left) * dpr));
    const ph = Math.max(1, Math.round((bottom - top) * dpr));
    if (overlay.width !== pw) overlay.width = pw;
    if (overlay.height !== ph) overlay.height = ph;
    overlay.style.cssText = `left:${left}px;top:${top}px;width:${right - left}px;height:${bottom - top}px`;
    const ctx = overlay.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, pw, ph);
    ctx.setTransform(dpr, 0, 0, dpr, -left * dpr, -top * dpr);
    overlay.dataset.drawn = String(this.regions.length);
    const labelsAlways = this.regions.length <= MANY_REGIONS;
    const labels: number[] = [];
    ctx.lineWidth = LINE;
    const X = (nx: number) => (this.part.x + nx * this.part.w) * width;
    const Y = (ny: number) => (this.part.y + ny * this.part.h) * height;
    // First passes that a zoom-in refine moved: faint and dashed, under the refined regions.
    if (this.regions.some((r) => r.coarse)) {
      ctx.save();
      ctx.globalAlpha = COARSE_ALPHA;
      ctx.setLineDash([4, 3]);
      this.regions.forEach((r, i) => {
        if (r.coarse) this.traceCoarse(ctx, r.coarse, this.colours[i]!, X, Y);
      });
      ctx.restore();
    }
    // One path per colour (a label's colour): 500 regions of 37 labels are 37 strokes, not 500.
    const paths = new Map<string, Path2D>();
    const pathOf = (colour: string) => {
      let path = paths.get(colour);
      if (!path) paths.set(colour, (path = new Path2D()));
      return path;
    };
    const hotOnes: number[] = [];
    this.regions.forEach((r, i) => {
      const path = pathOf(this.colours[i]!);
      if (r.kind === 'box') {
        const x = X(r.box[0]);
        const y = Y(r.box[1]);
        const w = X(r.box[2]) - x;
        const h = Y(r.box[3]) - y;
        // The stroke lies inside the box, as a border would: its outer edge is the box's edge.
        path.rect(x + LINE / 2, y + LINE / 2, Math.max(0, w - LINE), Math.max(0, h - LINE));
      } else if (r.kind === 'quad') {
        // A closed polygon through the four corners, in the model's order.
        const q = r.quad;
        path.moveTo(X(q[0]), Y(q[1]));
        for (let k = 2; k < 8; k += 2) path.lineTo(X(q[k]!), Y(q[k + 1]!));
        path.closePath();
      } else {
        const x = X(r.point[0]);
        const y = Y(r.point[1]);
        path.moveTo(x - CROSSHAIR, y);
        path.lineTo(x + CROSSHAIR, y);
        path.moveTo(x, y - CROSSHAIR);
        path.lineTo(x, y + CROSSHAIR);
      }
      if (this.hot.has(i)) hotOnes.push(i);
      if (r.label && (labelsAlways || this.hot.has(i))) labels.push(i);
    });
    for (const [colour, path] of paths) {
      ctx.strokeStyle = colour;
      ctx.stroke(path);
    }
    // The lit regions over the others: filled, with a ring around.
    for (const i of hotOnes) {
      const r = this.regions[i]!;
      const colour = this.colours[i]!;
      ctx.strokeStyle = colour;
      if (r.kind === 'box') {
        const x = X(r.box[0]);
        const y = Y(r.box[1]);
        const w = X(r.box[2]) - x;
        const h = Y(r.box[3]) - y;
        ctx.fillStyle = `${colour}4d`;
        ctx.fillRect(x, y, w, h);
        ctx.strokeRect(x - 3, y - 3, w + 6, h + 6);
      } else if (r.kind === 'quad') {
        const q = r.quad;
        ctx.beginPath();
        ctx.moveTo(X(q[0]), Y(q[1]));
        for (let k = 2; k < 8; k += 2) ctx.lineTo(X(q[k]!), Y(q[k + 1]!));
        ctx.closePath();
        ctx.fillStyle = `${colour}4d`;
        ctx.fill();
        ctx.lineWidth = LINE + 2;
        ctx.stroke();
        ctx.lineWidth = LINE;
      } else {
        ctx.beginPath();
        ctx.arc(X(r.point[0]), Y(r.point[1]), CROSSHAIR + 3, 0, Math.PI * 2);
        ctx.stroke();
      }
    }
    // What the model saw: the tile grid over the part it saw (each tile 448×448 model pixels).
    const grid = this.image.grid;
    overlay.dataset.sight = this.showSight && grid ? `${grid.cols}x${grid.rows}` : '';
    if (this.showSight && grid) {
      ctx.save();
      ctx.setLineDash([]);
      ctx.lineWidth = 1;
      for (const [colour, offset] of [['rgba(0, 0, 0, 0.6)', 0.5], ['rgba(255, 255, 0, 0.9)', -0.5]] as const) {
        ctx.strokeStyle = colour;
        ctx.beginPath();
        for (let c = 0; c <= grid.cols; c++) {
          const x = X(c / grid.cols) + offset;
          ctx.moveTo(x, Y(0));
          ctx.lineTo(x, Y(1));
        }
        for (let r = 0; r <= grid.rows; r++) {
          const y = Y(r / grid.rows) + offset;
          ctx.moveTo(X(0), y);
          ctx.lineTo(X(1), y);
        }
        ctx.stroke();
      }
      ctx.font = LABEL_FONT;
      ctx.textBaseline = 'top';
      const tag = (text: string, x: number, y: number) => {
        const w = ctx.measureText(text).width + 6;
        ctx.fillStyle = 'rgba(0, 0, 0, 0.7)';
        ctx.fillRect(x, y, w, LABEL_HEIGHT);
        ctx.fillStyle = '#ffff00';
        ctx.fillText(text, x + 3, y + 2);
      };
      for (let r = 0; r < grid.rows; r++) for (let c = 0; c < grid.cols; c++) tag(`${r * grid.cols + c + 1}: 256`, X(c / grid.cols) + 2, Y(r / grid.rows) + 2);
      if (grid.thumbnail) tag('+ thumbnail of the whole: 256', X(1) - 170, Y(1) - LABEL_HEIGHT - 2);
      ctx.restore();
    }
    // The user's own regions: white dashes over a dark edge, readable on any image.
    for (const [x1, y1, x2, y2] of this.referred) {
      const [x, y, w, h] = [X(x1), Y(y1), X(x2) - X(x1), Y(y2) - Y(y1)];
      ctx.save();
      ctx.lineWidth = 3;
      ctx.strokeStyle = 'rgba(0, 0, 0, 0.7)';
      ctx.strokeRect(x + 1.5, y + 1.5, Math.max(0, w - 3), Math.max(0, h - 3));
      ctx.lineWidth = 1.5;
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = '#ffffff';
      ctx.strokeRect(x + 1.5, y + 1.5, Math.max(0, w - 3), Math.max(0, h - 3));
      ctx.restore();
    }
    overlay.dataset.referred = String(this.referred.length);
    // Labels last, so no box is drawn over another's label.
    ctx.font = LABEL_FONT;
    ctx.textBaseline = 'middle';
    for (const i of labels) {
      const r = this.regions[i]!;
      const [x, y] =
        r.kind === 'box'
          ? [X(r.box[0]), Y(r.box[1]) - LABEL_HEIGHT]
          : r.kind === 'quad'
            ? [X(Math.min(r.quad[0], r.quad[2], r.quad[4], r.quad[6])), Y(Math.min(r.quad[1], r.quad[3], r.quad[5], r.quad[7])) - LABEL_HEIGHT]
            : [X(r.point[0]) + 6, Y(r.point[1]) - 4 - LABEL_HEIGHT];
      const w = ctx.measureText(r.label!).width + 8;
      ctx.fillStyle = this.colours[i]!;
      ctx.fillRect(x, y, w, LABEL_HEIGHT);
      ctx.fillStyle = '#000';
      ctx.fillText(r.label!, x + 4, y + LABEL_HEIGHT / 2);
    }
  }

  /** Strokes a first-pass shape (the caller sets its faint style). */
  private traceCoarse(ctx: CanvasRenderingContext2D, c: CoarseShape, colour: string, X: (n: number) => number, Y: (n: number) => number): void {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    if (c.kind === 'box') ctx.rect(X(c.box[0]) + LINE / 2, Y(c.box[1]) + LINE / 2, Math.max(0, X(c.box[2]) - X(c.box[0]) - LINE), Math.max(0, Y(c.box[3]) - Y(c.box[1]) - LINE));
    else if (c.kind === 'quad') {
      ctx.moveTo(X(c.quad[0]), Y(c.quad[1]));
      for (let k = 2; k < 8; k += 2) ctx.lineTo(X(c.quad[k]!), Y(c.quad[k + 1]!));
      ctx.closePath();
    } else ctx.arc(X(c.point[0]), Y(c.point[1]), CROSSHAIR, 0, Math.PI * 2);
    ctx.stroke();
  }

  /** The regions under a pointer at client (x, y): the smallest box first, points within reach. */
  regionsAt(clientX: number, clientY: number): number[] {
    const rect = this.frame.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    const X = (nx: number) => (this.part.x + nx * this.part.w) * rect.width;
    const Y = (ny: number) => (this.part.y + ny * this.part.h) * rect.height;
    const hits: { i: number; area: number }[] = [];
    this.regions.forEach((r, i) => {
      if (r.kind === 'box') {
        const [x1, y1, x2, y2] = [X(r.box[0]), Y(r.box[1]), X(r.box[2]), Y(r.box[3])];
        if (x >= x1 && x <= x2 && y >= y1 && y <= y2) hits.push({ i, area: (x2 - x1) * (y2 - y1) });
      } else if (r.kind === 'quad') {
        const xs = [0, 2, 4, 6].map((k) => X(r.quad[k]!));
        const ys = [1, 3, 5, 7].map((k) => Y(r.quad[k]!));
        if (insidePolygon(xs, ys, x, y)) hits.push({ i, area: polygonArea(xs, ys) });
      } else if (Math.abs(X(r.point[0]) - x) <= CROSSHAIR && Math.abs(Y(r.point[1]) - y) <= CROSSHAIR) {
        hits.push({ i, area: 0 });
      }
    });
    return hits.sort((a, b) => a.area - b.area).map((h) => h.i);
  }

  private listen(): void {
    const { viewport, overlay, state } = this;
    viewport.addEventListener(
      'wheel',
      (e) => {
        if (!e.ctrlKey) return;
        e.preventDefault();
        const box = viewport.getBoundingClientRect();
        this.setZoom(state.zoom * Math.exp(-e.deltaY / 300), [e.clientX - box.left, e.clientY - box.top]);
      },
      { passive: false },
    );
    // Drag to pan when zoomed; a click without a drag on a region copies it.
    let drag: { x: number; y: number; left: number; top: number; moved: boolean } | null = null;
    // Ask about a region: a drag draws the rectangle (instead of panning).
    let selection: { x: number; y: number } | null = null;
    const inFrame = (e: PointerEvent): [number, number] => {
      const r = this.frame.getBoundingClientRect();
      return [Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), Math.min(1, Math.max(0, (e.clientY - r.top) / r.height))];
    };
    viewport.addEventListener('pointerdown', (e) => {
      if (!this.selecting || e.button !== 0) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      viewport.setPointerCapture(e.pointerId);
      const [x, y] = inFrame(e);
      selection = { x, y };
      this.setDraft(null);
    });
    viewport.addEventListener('pointermove', (e) => {
      if (!selection) return;
      e.stopImmediatePropagation();
      const [x, y] = inFrame(e);
      this.setDraft([Math.min(selection.x, x), Math.min(selection.y, y), Math.max(selection.x, x), Math.max(selection.y, y)], false);
    });
    viewport.addEventListener('pointerup', (e) => {
      if (!selection) return;
      selection = null;
      const d = this.draft;
      const r = this.frame.getBoundingClientRect();
      // A click, not a drag: nothing drawn.
      if (d && ((d[2] - d[0]) * r.width < 3 || (d[3] - d[1]) * r.height < 3)) this.setDraft(null, false);
      // The drag is over: now the toolbar may offer Ask about this region.
      this.renderTools();
      e.stopImmediatePropagation();
    });
    viewport.addEventListener('pointerdown', (e) => {
      if (this.selecting || state.zoom <= 1 || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, left: viewport.scrollLeft, top: viewport.scrollTop, moved: false };
    });
    let hovered = '';
    viewport.addEventListener('pointermove', (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        viewport.scrollLeft = drag.left - dx;
        viewport.scrollTop = drag.top - dy;
        return;
      }
      if (state.overlayHidden) return;
      // Only the topmost (smallest) region under the pointer lights up.
      const hit = this.regionsAt(e.clientX, e.clientY).slice(0, 1);
      overlay.classList.toggle('over-region', hit.length > 0);
      if (hit.join() !== hovered) {
        hovered = hit.join();
        this.host.hover(hit);
      }
    });
    viewport.addEventListener('pointerleave', () => {
      if (hovered) {
        hovered = '';
        this.host.hover([]);
      }
    });
    const endDrag = () => {
      if (drag) state.scroll = [viewport.scrollLeft, viewport.scrollTop];
      setTimeout(() => (drag = null));
    };
    viewport.addEventListener('pointerup', endDrag);
    viewport.addEventListener('pointerleave', endDrag);
    viewport.addEventListener('scroll', () => {
      state.scroll = [viewport.scrollLeft, viewport.scrollTop];
      this.scheduleDraw();
    });
    viewport.addEventListener('click', (e) => {
      if (this.selecting || drag?.moved || state.overlayHidden) return;
      const hit = this.regionsAt(e.clientX, e.clientY)[0];
      if (hit !== undefined) this.host.copy(hit);
    });
  }

  /** The region list, in a disclosure: filled on first opening when there are many regions. */
  private regionList(): HTMLDetailsElement {
    const box = el('details', 'regions');
    const list = el('ol', 'region-list');
    list.setAttribute('aria-label', 'Regions');
    const exports = el('div', 'region-exports');
    exports.setAttribute('role', 'toolbar');
    exports.setAttribute('aria-label', 'Export the regions');
    for (const [format, text, title] of REGION_EXPORTS) {
      const b = el('button', 'link-button', text);
      b.type = 'button';
      b.title = title;
      b.dataset.format = format;
      b.addEventListener('click', () => this.host.exportRegions(format));
      exports.append(b);
    }
    box.append(el('summary', undefined, regionCount(this.regions.length)), exports, list);
    if (this.regions.length <= MANY_REGIONS) {
      box.open = true;
      this.fillList(list, 0);
    }
    box.querySelector('summary')!.addEventListener('click', () => (box.dataset.chosen = 'true'));
    box.addEventListener('toggle', () => {
      if (box.open && list.childElementCount < this.regions.length) this.fillList(list, list.childElementCount);
    });
    const pick = (e: Event) => (e.target as HTMLElement).closest<HTMLElement>('li[data-index]');
    list.addEventListener('click', (e) => {
      const item = pick(e);
      if (item) this.host.copy(Number(item.dataset.index));
    });
    list.addEventListener('keydown', (e) => {
      const item = pick(e);
      if (item && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        this.host.copy(Number(item.dataset.index));
      }
    });
    // Hovering or focusing an entry lights its region and words.
    const over = (e: Event) => {
      const item = pick(e);
      this.host.hover(item ? [Number(item.dataset.index)] : []);
    };
    list.addEventListener('mouseover', over);
    list.addEventListener('focusin', over);
    list.addEventListener('mouseleave', () => this.host.hover([]));
    list.addEventListener('focusout', () => this.host.hover([]));
    return box;
  }

  /** Adds regions from `from` on to a list on screen (a closed, unfilled one fills when opened). */
  private extendList(from: number): void {
    const box = this.listBox!;
    box.querySelector('summary')!.textContent = regionCount(this.regions.length);
    // A list that opened by itself closes once it grows long; one the user opened stays open.
    if (this.regions.length > MANY_REGIONS && box.dataset.chosen !== 'true') box.open = false;
    const list = box.querySelector('.region-list')!;
    if (box.open && list.childElementCount === from) this.fillList(list, from);
  }

  private fillList(list: Element, from: number): void {
    const frag = document.createDocumentFragment();
    for (let i = from; i < this.regions.length; i++) {
      const r = this.regions[i]!;
      const item = el('li');
      item.dataset.index = String(i);
      item.tabIndex = 0;
      item.title = 'Click to copy the pixel coordinates';
      item.classList.toggle('hot', this.hot.has(i));
      const swatch = el('span', r.kind === 'point' ? 'swatch point' : 'swatch');
      swatch.style.setProperty('--region-colour', this.colours[i]!);
      item.append(swatch, el('span', 'region-name', r.label ?? regionKindName(r)), el('span', 'region-coords', regionText(r)));
      if (r.coarse) {
        const mark = el('span', 'region-refined', 'refined');
        mark.title = 'Placed by a zoom-in second look; the first pass is drawn faint';
        item.append(mark);
      }
      frag.append(item);
    }
    list.append(frag);
  }
}
