// Cropping a waiting image: drag a rectangle over it; the host receives the rectangle in the
// image's original pixels and sends only that part to the model.
// The rectangle rules (drag, move, resize, whole pixels) are the Capture Region panel's:
// shared/selection.ts.
import type { PixelRect } from '../../src/protocol/rect';
import type { PendingImageView } from '../../src/protocol/webview';
import { textButton } from '../shared/controls';
import { el } from '../shared/dom';
import { type Point, type Span, dragSpan, moveSpan, normalise, resizeSpan, toRect } from '../shared/selection';

/** Shows `image` in a dialog; `done` gets the rectangle (or null to send the whole image again). */
export function openCropper(image: PendingImageView, done: (rect: PixelRect | null) => void): void {
  const dialog = el('div', 'cropper');
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-modal', 'true');
  dialog.setAttribute('aria-label', `Crop ${image.name}`);
  const hint = el('p', 'cropper-hint', 'Drag a rectangle over the part the model should see (or use the arrow keys: move; Shift+arrows: resize). Enter applies, Escape cancels.');
  const frame = el('div', 'cropper-frame');
  const img = el('img');
  img.src = image.src;
  img.alt = image.name;
  img.draggable = false;
  const selection = el('div', 'cropper-selection');
  selection.hidden = true;
  frame.append(img, selection);
  let rect: PixelRect | null = null;
  const size = el('span', 'cropper-size', '');
  const close = () => {
    dialog.remove();
    document.removeEventListener('keydown', onKey, true);
  };
  const apply = () => {
    if (!rect) return;
    close();
    done(rect);
  };
  const applyButton = textButton('check', 'Crop', apply, 'text-button cropper-apply');
  applyButton.disabled = true;
  const buttons = el('div', 'cropper-buttons');
  buttons.append(size, applyButton);
  if (image.crop) buttons.append(textButton('discard', 'Whole image', () => (close(), done(null)), 'text-button secondary cropper-reset'));
  buttons.append(textButton(null, 'Cancel', close, 'text-button secondary cropper-cancel'));
  dialog.append(hint, frame, buttons);
  document.body.append(dialog);

  const bounds = { width: image.width, height: image.height };
  /** Client coordinates → original pixels (the selection rules clamp them to the image). */
  const toPixels = (x: number, y: number): Point => {
    const r = img.getBoundingClientRect();
    return { x: ((x - r.left) / r.width) * image.width, y: ((y - r.top) / r.height) * image.height };
  };
  let start: Point | null = null;
  let span: Span | null = null;
  frame.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    frame.setPointerCapture(e.pointerId);
    start = toPixels(e.clientX, e.clientY);
  });
  frame.addEventListener('pointermove', (e) => {
    if (!start) return;
    show(dragSpan(start, toPixels(e.clientX, e.clientY), bounds));
  });
  function show(next: Span | null): void {
    span = next && toRect(next, bounds) ? normalise(next) : null;
    rect = span ? toRect(span, bounds) : null;
    applyButton.disabled = rect === null;
    selection.hidden = rect === null;
    if (rect) {
      // Placed in percent of the image, so it stays put if the dialog resizes.
      selection.style.left = `${(rect.x / image.width) * 100}%`;
      selection.style.top = `${(rect.y / image.height) * 100}%`;
      selection.style.width = `${(rect.width / image.width) * 100}%`;
      selection.style.height = `${(rect.height / image.height) * 100}%`;
      size.textContent = `${rect.width}×${rect.height} px at ${rect.x}, ${rect.y}`;
    }
  }
  size.setAttribute('aria-live', 'polite');
  /** Arrow keys move the rectangle (a centred half-size one to start), Shift+arrows resize it. */
  function nudge(key: string, resize: boolean): void {
    const step = (n: number) => Math.max(1, Math.round(n / 100));
    if (!span) {
      const [w, h] = [Math.round(image.width / 2), Math.round(image.height / 2)];
      const [x, y] = [Math.round(image.width / 4), Math.round(image.height / 4)];
      return show({ x1: x, y1: y, x2: x + w, y2: y + h });
    }
    const dx = key === 'ArrowLeft' ? -step(image.width) : key === 'ArrowRight' ? step(image.width) : 0;
    const dy = key === 'ArrowUp' ? -step(image.height) : key === 'ArrowDown' ? step(image.height) : 0;
    // Resizing moves the south-east corner, never past the north-west one (at least 1 px).
    if (resize) show(resizeSpan(span, 'se', { x: Math.max(span.x1 + 1, span.x2 + dx), y: Math.max(span.y1 + 1, span.y2 + dy) }, bounds));
    else show(moveSpan(span, dx, dy, bounds));
  }
  frame.addEventListener('pointerup', () => (start = null));
  function onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    } else if (e.key === 'Enter' && rect && !(e.target instanceof HTMLButtonElement && dialog.contains(e.target))) {
      e.preventDefault();
      apply();
    } else if (e.key.startsWith('Arrow')) {
      e.preventDefault();
      nudge(e.key, e.shiftKey);
    }
  }
  document.addEventListener('keydown', onKey, true);
  // Focus in the dialog: arrows select without a mouse, Tab reaches the buttons.
  frame.tabIndex = 0;
  frame.setAttribute('aria-label', `${image.name}: arrow keys move the selection, Shift+arrows resize it`);
  frame.focus();
}
