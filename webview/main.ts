// The chat UI inside the webview. Untrusted content (model output, file names) is only ever
// inserted as text nodes; nothing here builds HTML from strings.
import * as v from 'valibot';
import { labelColour } from '../src/grounding/colour';
import { parseAnswer } from '../src/grounding/parse';
import { PROMPT_PRESETS, PROMPT_PRESET_IDS, type PromptPreset } from '../src/grounding/prompts';
import { HostMessage, type ImageView, type TurnView, type WebviewMessage } from '../src/protocol/webview';
import './chat.css';

declare function acquireVsCodeApi(): { postMessage(msg: unknown): void };
const vscode = acquireVsCodeApi();
const send = (msg: WebviewMessage) => vscode.postMessage(msg);

const app = document.getElementById('app')!;
const turns = new Map<string, TurnView>();
const order: string[] = [];
/** Streamed token messages per turn, so tests (and curious users) can tell streaming from a final paint. */
const chunks = new Map<string, number>();

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

type Regions = TurnView['regions'];

/** What the user set on an image's viewer, kept across re-renders of its turn. */
interface ViewerState {
  zoom: number;
  overlayHidden: boolean;
  scroll: [number, number];
}
const viewers = new Map<string, ViewerState>();
const MIN_ZOOM = 1;
const MAX_ZOOM = 16;

function regionText(r: Regions[number]): string {
  return r.kind === 'box' ? `[${r.pixels.join(', ')}] px` : `(${r.pixels.join(', ')}) px`;
}

/** The regions drawn over the image: placed in percent of `.canvas`, so they follow any size. */
function drawRegions(canvas: HTMLElement, regions: Regions, from = 0): void {
  const frag = document.createDocumentFragment();
  regions.forEach((r, i) => {
    if (i < from) return;
    const mark = el('div', r.kind === 'box' ? 'region box' : 'region point');
    mark.dataset.index = String(i);
    mark.dataset.label = r.label ?? '';
    // One style string per mark: 500 marks cost one parse each, not five. The label is drawn by
    // CSS from data-label, so a mark is one element.
    const [left, top, width, height] = r.kind === 'box' ? [r.box[0], r.box[1], r.box[2] - r.box[0], r.box[3] - r.box[1]] : [r.point[0], r.point[1], 0, 0];
    mark.style.cssText = `left:${left * 100}%;top:${top * 100}%;${r.kind === 'box' ? `width:${width * 100}%;height:${height * 100}%;` : ''}--region-colour:${labelColour(r.label)}`;
    mark.title = `${r.label ?? 'region'}: ${regionText(r)} — click to copy`;
    frag.append(mark);
  });
  canvas.append(frag);
}

/** Up to this many regions the list starts open and labels always show; beyond, they wait for the user. */
const MANY_REGIONS = 20;

/** The region list, in a disclosure: filled on first opening when there are many regions. */
function regionList(regions: Regions): HTMLElement {
  const box = el('details', 'regions');
  const summary = el('summary', undefined, regionCount(regions.length));
  const list = el('ol', 'region-list');
  list.setAttribute('aria-label', 'Regions');
  box.append(summary, list);
  if (regions.length <= MANY_REGIONS) {
    box.open = true;
    fillRegionList(list, regions);
  }
  summary.addEventListener('click', () => (box.dataset.chosen = 'true'));
  box.addEventListener('toggle', () => {
    if (!box.open) return;
    const turnId = box.closest<HTMLElement>('[data-turn-id]')?.dataset.turnId;
    const all = (turnId ? turns.get(turnId)?.regions : undefined) ?? regions;
    if (list.childElementCount < all.length) fillRegionList(list, all, list.childElementCount);
  });
  return box;
}

const regionCount = (n: number) => `${n} region${n === 1 ? '' : 's'}`;

/** Adds regions from `from` on to a list shown on screen (a closed, unfilled one fills when opened). */
function extendRegionList(box: HTMLDetailsElement, regions: Regions, from: number): void {
  const summary = box.querySelector('summary');
  if (summary) summary.textContent = regionCount(regions.length);
  // A list that opened by itself closes once it grows long; one the user opened stays open.
  if (regions.length > MANY_REGIONS && box.dataset.chosen !== 'true') box.open = false;
  const list = box.querySelector('.region-list');
  if (box.open && list && list.childElementCount === from) fillRegionList(list, regions, from);
}

function fillRegionList(list: Element, regions: Regions, from = 0): void {
  const frag = document.createDocumentFragment();
  regions.forEach((r, i) => {
    if (i < from) return;
    const item = el('li');
    item.dataset.index = String(i);
    item.tabIndex = 0;
    item.title = 'Click to copy the pixel coordinates';
    const swatch = el('span', r.kind === 'box' ? 'swatch' : 'swatch point');
    swatch.style.setProperty('--region-colour', labelColour(r.label));
    item.append(swatch, el('span', 'region-name', r.label ?? (r.kind === 'box' ? 'box' : 'point')), el('span', 'region-coords', regionText(r)));
    frag.append(item);
  });
  list.append(frag);
}

/** Zoom (1 = fit the panel) with the point under `anchor` (viewport coordinates) kept in place. */
function setZoom(figure: HTMLElement, state: ViewerState, zoom: number, anchor?: [number, number]): void {
  const viewport = figure.querySelector<HTMLElement>('.viewport')!;
  const canvas = figure.querySelector<HTMLElement>('.canvas')!;
  const img = canvas.querySelector('img')!;
  const before = canvas.getBoundingClientRect();
  const [ax, ay] = anchor ?? [viewport.clientWidth / 2, viewport.clientHeight / 2];
  const fx = before.width ? (viewport.scrollLeft + ax) / before.width : 0;
  const fy = before.height ? (viewport.scrollTop + ay) / before.height : 0;
  state.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
  figure.classList.toggle('zoomed', state.zoom > 1);
  if (state.zoom > 1) {
    // The width the image has when it fits: its own width, or the panel's when narrower.
    const fit = Math.min(img.width || Number(img.getAttribute('width')), viewport.clientWidth);
    canvas.style.width = `${fit * state.zoom}px`;
  } else {
    canvas.style.width = '';
  }
  const after = canvas.getBoundingClientRect();
  viewport.scrollLeft = fx * after.width - ax;
  viewport.scrollTop = fy * after.height - ay;
  const label = figure.querySelector('.zoom-level');
  if (label) label.textContent = `${Math.round(state.zoom * 100)}%`;
}

function toolButton(cls: string, text: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', `tool ${cls}`, text);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

/** The image with its regions drawn over it, a toolbar (overlay, zoom, export) and the region list. */
function stage(turnId: string, image: ImageView, regions: Regions): HTMLElement {
  const figure = el('figure', regions.length > 0 ? 'stage has-regions' : 'stage');
  figure.dataset.imageId = image.id;
  const key = `${turnId}/${image.id}`;
  const state = viewers.get(key) ?? { zoom: 1, overlayHidden: false, scroll: [0, 0] };
  viewers.set(key, state);
  const viewport = el('div', 'viewport');
  // Regions are placed in percent of this box, which holds the image and nothing else.
  const canvas = el('div', 'canvas');
  const img = el('img');
  img.src = image.src;
  img.alt = image.name;
  img.width = image.width;
  img.height = image.height;
  img.draggable = false;
  canvas.append(img);
  drawRegions(canvas, regions);
  // With many regions, labels show on hover only: 500 labels hide the image they describe.
  canvas.classList.toggle('many', regions.length > MANY_REGIONS);
  viewport.append(canvas);

  const tools = el('div', 'stage-tools');
  if (regions.length > 0) {
    const toggle = toolButton('toggle-overlay', state.overlayHidden ? 'Show regions' : 'Hide regions', 'Show or hide the regions over the image', () => {
      state.overlayHidden = !state.overlayHidden;
      figure.classList.toggle('overlay-hidden', state.overlayHidden);
      toggle.textContent = state.overlayHidden ? 'Show regions' : 'Hide regions';
    });
    tools.append(toggle, toolButton('export', 'Export PNG', 'Save the image with its regions drawn, at original resolution', () => send({ type: 'exportAnnotated', turnId })));
  }
  tools.append(
    toolButton('zoom-out', '−', 'Zoom out', () => setZoom(figure, state, state.zoom / 1.5)),
    el('span', 'zoom-level', `${Math.round(state.zoom * 100)}%`),
    toolButton('zoom-in', '+', 'Zoom in (or Ctrl + wheel)', () => setZoom(figure, state, state.zoom * 1.5)),
    toolButton('zoom-fit', 'Fit', 'Fit the panel', () => setZoom(figure, state, 1)),
  );
  figure.classList.toggle('overlay-hidden', state.overlayHidden);
  figure.append(tools, viewport);

  viewport.addEventListener(
    'wheel',
    (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      const box = viewport.getBoundingClientRect();
      setZoom(figure, state, state.zoom * Math.exp(-e.deltaY / 300), [e.clientX - box.left, e.clientY - box.top]);
    },
    { passive: false },
  );
  // Drag to pan when zoomed; a click without a drag on a region copies it.
  let drag: { x: number; y: number; left: number; top: number; moved: boolean } | null = null;
  viewport.addEventListener('pointerdown', (e) => {
    if (state.zoom <= 1 || e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, left: viewport.scrollLeft, top: viewport.scrollTop, moved: false };
  });
  viewport.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    viewport.scrollLeft = drag.left - dx;
    viewport.scrollTop = drag.top - dy;
  });
  const endDrag = () => {
    if (drag) state.scroll = [viewport.scrollLeft, viewport.scrollTop];
    setTimeout(() => (drag = null));
  };
  viewport.addEventListener('pointerup', endDrag);
  viewport.addEventListener('pointerleave', endDrag);
  viewport.addEventListener('scroll', () => (state.scroll = [viewport.scrollLeft, viewport.scrollTop]));
  viewport.addEventListener('click', (e) => {
    const mark = (e.target as HTMLElement).closest<HTMLElement>('.region');
    if (mark && !drag?.moved) send({ type: 'copyRegion', turnId, index: Number(mark.dataset.index) });
  });
  if (state.zoom > 1) {
    // Re-apply after layout (the card was just re-rendered).
    requestAnimationFrame(() => {
      setZoom(figure, state, state.zoom);
      [viewport.scrollLeft, viewport.scrollTop] = state.scroll;
    });
  }

  figure.append(el('figcaption', undefined, `${image.name} · ${image.width}×${image.height} · ${image.tiles} tile${image.tiles === 1 ? '' : 's'} · ${image.tokens.toLocaleString('en')} tokens`));
  if (regions.length > 0) {
    const list = regionList(regions);
    list.addEventListener('click', (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>('li[data-index]');
      if (item) send({ type: 'copyRegion', turnId, index: Number(item.dataset.index) });
    });
    list.addEventListener('keydown', (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>('li[data-index]');
      if (item && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        send({ type: 'copyRegion', turnId, index: Number(item.dataset.index) });
      }
    });
    figure.append(list);
  }
  return figure;
}

function renderAnswer(target: HTMLElement, text: string, regions: Regions): void {
  target.replaceChildren();
  for (const seg of parseAnswer(text).segments) {
    if (seg.kind === 'text') {
      target.append(document.createTextNode(seg.text));
      continue;
    }
    const span =
      seg.kind === 'ref' ? el('mark', 'ref', seg.text) : el('span', 'coordinates', seg.regions.length <= 1 ? '▭' : `▭×${seg.regions.length}`);
    if (seg.kind === 'coordinates') span.title = seg.text;
    span.dataset.regions = seg.regions.join(' ');
    if (seg.regions[0] !== undefined) span.style.setProperty('--region-colour', labelColour(regions[seg.regions[0]]?.label ?? null));
    target.append(span);
  }
}

/** Hovering a region, its list entry or its words lights up all three. */
function linkHover(card: HTMLElement): void {
  const indexesOf = (e: Element | null): string[] => {
    const hit = e?.closest<HTMLElement>('[data-regions], .region[data-index], .region-list li[data-index]');
    if (!hit) return [];
    return hit.dataset.regions !== undefined ? hit.dataset.regions.split(' ').filter(Boolean) : [hit.dataset.index!];
  };
  const light = (indexes: string[], on: boolean) => {
    if (indexes.length === 0) return;
    const wanted = new Set(indexes);
    for (const e of card.querySelectorAll<HTMLElement>('.region[data-index], .region-list li[data-index], [data-regions]')) {
      const own = e.dataset.regions !== undefined ? e.dataset.regions.split(' ') : [e.dataset.index!];
      if (own.some((i) => wanted.has(i))) e.classList.toggle('hot', on);
    }
  };
  card.addEventListener('mouseover', (e) => light(indexesOf(e.target as Element), true));
  card.addEventListener('mouseout', (e) => light(indexesOf(e.target as Element), false));
}

function renderTurn(t: TurnView): HTMLElement {
  const card = el('article', 'turn');
  card.dataset.turnId = t.id;
  linkHover(card);
  card.dataset.status = t.status;
  const q = el('div', 'question');
  q.append(el('p', 'question-text', t.question));
  card.append(q);
  // Regions are drawn once: over this turn's own image, or over the conversation's latest one.
  const ownTarget = t.target && t.images.some((i) => i.id === t.target!.id);
  for (const image of t.images) q.append(stage(t.id, image, ownTarget && image.id === t.target!.id ? t.regions : []));
  const answer = el('div', 'answer');
  answer.dataset.raw = t.answer;
  answer.dataset.chunks = String(chunks.get(t.id) ?? 0);
  renderAnswer(answer, t.answer, t.regions);
  card.append(answer);
  if (t.target && !ownTarget && t.regions.length > 0) card.append(stage(t.id, t.target, t.regions));
  card.append(el('div', 'status', statusText(t)));
  if (t.error) {
    const err = el('div', 'error');
    err.setAttribute('role', 'alert');
    err.append(el('span', undefined, t.error.message));
    if (t.error.action) {
      const { id, label } = t.error.action;
      const b = el('button', 'action', label);
      b.addEventListener('click', () => send({ type: 'action', id }));
      err.append(b);
    }
    card.append(err);
  }
  return card;
}

function statusText(t: TurnView): string {
  if (t.status === 'queued') return 'Queued…';
  if (t.status === 'streaming') return t.answer ? 'Generating…' : 'Reading the image…';
  if (t.status === 'stopped') return 'Stopped.';
  return t.stats ?? '';
}

const imagesKey = (t: TurnView) => `${t.images.map((i) => i.id).join(' ')}|${t.target?.id ?? ''}`;
const sameRegion = (a: Regions[number] | undefined, b: Regions[number] | undefined) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Updates a rendered turn in place when only its status, answer or trailing regions changed —
 * what streaming does — so each new region costs its own marks, not a redraw of all of them.
 * Returns false when the turn must be rendered afresh.
 */
function patchTurn(card: HTMLElement, old: TurnView, t: TurnView): boolean {
  if (t.error || old.error || t.question !== old.question || imagesKey(old) !== imagesKey(t)) return false;
  const before = old.regions.length;
  if (t.regions.length < before || !sameRegion(old.regions[before - 1], t.regions[before - 1])) return false;
  if (t.regions.length > before) {
    // The first region brings the tools, the list and perhaps a stage of its own.
    const figure = before > 0 ? card.querySelector<HTMLElement>('figure.stage.has-regions') : null;
    const canvas = figure?.querySelector<HTMLElement>('.canvas');
    const regionsBox = figure?.querySelector<HTMLDetailsElement>('details.regions');
    if (!canvas || !regionsBox) return false;
    drawRegions(canvas, t.regions, before);
    canvas.classList.toggle('many', t.regions.length > MANY_REGIONS);
    extendRegionList(regionsBox, t.regions, before);
  }
  card.dataset.status = t.status;
  const status = card.querySelector('.status');
  if (status) status.textContent = statusText(t);
  if (t.answer !== old.answer || t.regions.length !== before) scheduleAnswer(t.id);
  return true;
}

/** Answers re-render at most once a frame, however fast tokens arrive. */
const answersDue = new Set<string>();
function scheduleAnswer(turnId: string): void {
  const card = list().querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(turnId)}"]`);
  const answer = card?.querySelector<HTMLElement>('.answer');
  const t = turns.get(turnId);
  if (answer && t) answer.dataset.raw = t.answer;
  if (answersDue.size === 0) requestAnimationFrame(renderDueAnswers);
  answersDue.add(turnId);
}
function renderDueAnswers(): void {
  for (const id of answersDue) {
    const t = turns.get(id);
    const answer = list().querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(id)}"] .answer`);
    if (t && answer) renderAnswer(answer, t.answer, t.regions);
  }
  answersDue.clear();
}

function list(): HTMLElement {
  let l = app.querySelector<HTMLElement>('.turns');
  if (!l) {
    l = el('section', 'turns');
    l.setAttribute('aria-label', 'Conversation');
    app.prepend(l);
  }
  return l;
}

function renderAll(): void {
  const l = list();
  l.replaceChildren(...order.map((id) => renderTurn(turns.get(id)!)));
  if (order.length === 0) {
    l.append(el('p', 'empty', 'Right-click an image in the Explorer and choose "Explain this diagram", or run "InternVL Lens: Explain this diagram" with an image open.'));
  }
  updateComposer();
}

function upsert(t: TurnView): void {
  const old = turns.get(t.id);
  if (!old) order.push(t.id);
  turns.set(t.id, t);
  const existing = list().querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(t.id)}"]`);
  if (existing && old && patchTurn(existing, old, t)) {
    updateComposer();
    return;
  }
  const card = renderTurn(t);
  if (existing) existing.replaceWith(card);
  else {
    list().querySelector('.empty')?.remove();
    list().append(card);
  }
  updateComposer();
  card.scrollIntoView({ block: 'end' });
}

function appendToken(turnId: string, text: string): void {
  const t = turns.get(turnId);
  if (!t) return;
  t.answer += text;

  const card = list().querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(turnId)}"]`);
  const answer = card?.querySelector<HTMLElement>('.answer');
  if (!card || !answer) return;
  chunks.set(turnId, (chunks.get(turnId) ?? 0) + 1);
  answer.dataset.chunks = String(chunks.get(turnId));
  scheduleAnswer(turnId);
  const status = card.querySelector('.status');
  if (status) status.textContent = 'Generating…';
}

// Composer, with grounding presets: the user types only the target, the host writes the prompt.
const ASK_PLACEHOLDER = 'Ask about the image… (Enter to send, Shift+Enter for a new line)';
const composer = el('form', 'composer');
const presets = el('div', 'presets');
presets.setAttribute('role', 'group');
presets.setAttribute('aria-label', 'Grounding presets');
let preset: PromptPreset | null = null;
function choosePreset(id: PromptPreset | null): void {
  preset = id;
  for (const b of presets.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.preset === id));
  input.placeholder = id ? `${PROMPT_PRESETS[id].title}: ${PROMPT_PRESETS[id].placeholder}` : ASK_PLACEHOLDER;
}
for (const id of PROMPT_PRESET_IDS) {
  const b = el('button', 'preset', PROMPT_PRESETS[id].title);
  b.type = 'button';
  b.dataset.preset = id;
  b.setAttribute('aria-pressed', 'false');
  b.addEventListener('click', () => {
    choosePreset(preset === id ? null : id);
    input.focus();
  });
  presets.append(b);
}
const input = el('textarea');
input.rows = 2;
input.placeholder = ASK_PLACEHOLDER;
input.setAttribute('aria-label', 'Question');
const sendButton = el('button', 'send', 'Send');
sendButton.type = 'submit';
const stopButton = el('button', 'stop', 'Stop');
stopButton.type = 'button';
const row = el('div', 'composer-row');
row.append(input, sendButton, stopButton);
composer.append(presets, row);
app.append(composer);

function busy(): boolean {
  return [...turns.values()].some((t) => t.status === 'streaming' || t.status === 'queued');
}
function updateComposer(): void {
  stopButton.hidden = !busy();
}
composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text && preset !== 'describeRegions') return;
  send(preset ? { type: 'ask', text, preset } : { type: 'ask', text });
  input.value = '';
  choosePreset(null);
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    composer.requestSubmit();
  }
});
stopButton.addEventListener('click', () => send({ type: 'stop' }));

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = v.safeParse(HostMessage, event.data);
  if (!parsed.success) {
    console.warn('InternVL Lens: ignored malformed host message');
    return;
  }
  const msg = parsed.output;
  if (msg.type === 'snapshot') {
    // Zoom and overlay choices live as long as their turn.
    const kept = new Set(msg.turns.map((t) => t.id));
    for (const key of viewers.keys()) if (!kept.has(key.split('/')[0]!)) viewers.delete(key);
    turns.clear();
    order.length = 0;
    for (const t of msg.turns) {
      turns.set(t.id, t);
      order.push(t.id);
    }
    renderAll();
  } else if (msg.type === 'turn') upsert(msg.turn);
  else appendToken(msg.turnId, msg.text);
});

renderAll();
send({ type: 'ready' });
