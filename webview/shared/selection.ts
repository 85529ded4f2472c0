// The rectangle being selected in the Capture Region panel, in image pixels. Pure functions,
// so the drag / resize / move rules are tested without a browser.
import type { PixelRect } from '../../src/protocol/rect';

export interface Point {
  x: number;
  y: number;
}

/** Two corners; not necessarily ordered while the user drags. */
export interface Span {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export type Edge = 'n' | 's' | 'e' | 'w' | 'nw' | 'ne' | 'sw' | 'se';
export const EDGES: readonly Edge[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

export interface Bounds {
  width: number;
  height: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

export function clampPoint(p: Point, b: Bounds): Point {
  return { x: clamp(p.x, 0, b.width), y: clamp(p.y, 0, b.height) };
}

/** A fresh drag from `start` to `now`. */
export function dragSpan(start: Point, now: Point, b: Bounds): Span {
  const a = clampPoint(start, b);
  const c = clampPoint(now, b);
  return { x1: a.x, y1: a.y, x2: c.x, y2: c.y };
}

/** Moves the edges named by a handle to the pointer. */
export function resizeSpan(s: Span, edge: Edge, now: Point, b: Bounds): Span {
  const n = normalise(s);
  const p = clampPoint(now, b);
  const out = { ...n };
  if (edge.includes('w')) out.x1 = p.x;
  if (edge.includes('e')) out.x2 = p.x;
  if (edge.includes('n')) out.y1 = p.y;
  if (edge.includes('s')) out.y2 = p.y;
  return out;
}

/** Moves the whole rectangle by (dx, dy), kept inside the image. */
export function moveSpan(s: Span, dx: number, dy: number, b: Bounds): Span {
  const n = normalise(s);
  const w = n.x2 - n.x1;
  const h = n.y2 - n.y1;
  const x1 = clamp(n.x1 + dx, 0, b.width - w);
  const y1 = clamp(n.y1 + dy, 0, b.height - h);
  return { x1, y1, x2: x1 + w, y2: y1 + h };
}

export function normalise(s: Span): Span {
  return { x1: Math.min(s.x1, s.x2), y1: Math.min(s.y1, s.y2), x2: Math.max(s.x1, s.x2), y2: Math.max(s.y1, s.y2) };
}

/** Whole pixels covered by the span, or null when it is empty. */
export function toRect(s: Span, b: Bounds): PixelRect | null {
  const n = normalise(s);
  const x = clamp(Math.round(n.x1), 0, b.width);
  const y = clamp(Math.round(n.y1), 0, b.height);
  const width = clamp(Math.round(n.x2), 0, b.width) - x;
  const height = clamp(Math.round(n.y2), 0, b.height) - y;
  return width >= 1 && height >= 1 ? { x, y, width, height } : null;
}

/** Where a handle sits on the (normalised) span. */
export function handlePoint(s: Span, edge: Edge): Point {
  const n = normalise(s);
  const x = edge.includes('w') ? n.x1 : edge.includes('e') ? n.x2 : (n.x1 + n.x2) / 2;
  const y = edge.includes('n') ? n.y1 : edge.includes('s') ? n.y2 : (n.y1 + n.y2) / 2;
  return { x, y };
}
