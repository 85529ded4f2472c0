// The Capture Region panel: the screenshot at its real size; drag a rectangle, adjust it with
// the handles or move it, Enter (or Send) confirms, Esc (or Cancel) cancels.
import { RegionHostMessage, type RegionWebviewMessage } from '../../src/protocol/region';
import { el } from '../shared/dom';
import { connectHost } from '../shared/host';
import { type Edge, EDGES, type Point, type Span, dragSpan, handlePoint, moveSpan, normalise, resizeSpan, toRect } from '../shared/selection';
import './region.css';

const { send } = connectHost<RegionWebviewMessage, RegionHostMessage>(RegionHostMessage, show);

const toolbar = el('div', 'toolbar');
const hint = el('span', 'hint', 'Drag to select a region · drag the handles to adjust · Enter sends · Esc cancels');
const sizeLabel = el('span', 'size');
const sendButton = el('button', undefined, 'Send');
const cancelButton = el('button', 'secondary', 'Cancel');
sendButton.disabled = true;
toolbar.append(hint, sizeLabel, sendButton, cancelButton);
const scroller = el('div', 'scroller');
const stageEl = el('div', 'stage');
const img = el('img');
img.alt = 'Screenshot';
img.draggable = false;
const selection = el('div', 'selection');
selection.hidden = true;
const handles = new Map<Edge, HTMLElement>();
for (const edge of EDGES) {
  const h = el('div', 'handle');
  h.dataset.edge = edge;
  handles.set(edge, h);
  selection.append(h);
}
stageEl.append(img, selection);
scroller.append(stageEl);
document.body.append(toolbar, scroller);

let bounds = { width: 0, height: 0 };
let span: Span | null = null;
type Gesture = { kind: 'draw'; start: Point } | { kind: 'resize'; edge: Edge } | { kind: 'move'; last: Point };
let gesture: Gesture | null = null;

/** Pointer position in image pixels (the image may be shown at any zoom). */
function imagePoint(e: PointerEvent): Point {
  const r = img.getBoundingClientRect();
  return { x: ((e.clientX - r.left) * bounds.width) / r.width, y: ((e.clientY - r.top) * bounds.height) / r.height };
}

function render(): void {
  const rect = span ? toRect(span, bounds) : null;
  sendButton.disabled = !rect;
  sizeLabel.textContent = rect ? `${rect.width} × ${rect.height}` : '';
  selection.hidden = !span;
  if (!span) return;
  const n = normalise(span);
  const k = img.getBoundingClientRect().width / bounds.width || 1;
  selection.style.left = `${n.x1 * k}px`;
  selection.style.top = `${n.y1 * k}px`;
  selection.style.width = `${(n.x2 - n.x1) * k}px`;
  selection.style.height = `${(n.y2 - n.y1) * k}px`;
  for (const [edge, h] of handles) {
    const p = handlePoint(span, edge);
    h.style.left = `${(p.x - n.x1) * k}px`;
    h.style.top = `${(p.y - n.y1) * k}px`;
  }
  document.body.dataset.selection = rect ? `${rect.x},${rect.y},${rect.width},${rect.height}` : '';
}

stageEl.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 || !bounds.width) return;
  // Keys (Enter, Esc) must reach this document after a drag.
  window.focus();
  const target = e.target as HTMLElement;
  const p = imagePoint(e);
  const edge = target.dataset.edge as Edge | undefined;
  if (edge && span) gesture = { kind: 'resize', edge };
  else if (target === selection && span) gesture = { kind: 'move', last: p };
  else {
    gesture = { kind: 'draw', start: p };
    span = dragSpan(p, p, bounds);
  }
  stageEl.setPointerCapture(e.pointerId);
  render();
});

stageEl.addEventListener('pointermove', (e) => {
  if (!gesture || !span) return;
  const p = imagePoint(e);
  if (gesture.kind === 'draw') span = dragSpan(gesture.start, p, bounds);
  else if (gesture.kind === 'resize') span = resizeSpan(span, gesture.edge, p, bounds);
  else {
    span = moveSpan(span, p.x - gesture.last.x, p.y - gesture.last.y, bounds);
    gesture.last = p;
  }
  render();
});

const endGesture = () => {
  if (!gesture) return;
  gesture = null;
  if (span) span = normalise(span);
  if (span && !toRect(span, bounds)) span = null;
  render();
};
stageEl.addEventListener('pointerup', endGesture);
stageEl.addEventListener('pointercancel', endGesture);

function confirm(): void {
  const rect = span ? toRect(span, bounds) : null;
  if (rect) send({ type: 'confirm', rect });
}

sendButton.addEventListener('click', confirm);
cancelButton.addEventListener('click', () => send({ type: 'cancel' }));
window.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    confirm();
  } else if (e.key === 'Escape') {
    e.preventDefault();
    send({ type: 'cancel' });
  }
});
window.addEventListener('resize', render);

function show(msg: RegionHostMessage): void {
  bounds = { width: msg.width, height: msg.height };
  // Real size: one image pixel per device pixel of this screen.
  img.style.width = `${msg.width / (window.devicePixelRatio || msg.scaleFactor)}px`;
  img.style.height = `${msg.height / (window.devicePixelRatio || msg.scaleFactor)}px`;
  img.onload = () => {
    document.body.dataset.loaded = 'true';
    render();
  };
  img.src = msg.src;
  span = null;
  render();
}

send({ type: 'ready' });
