// The chat UI inside the webview. Untrusted content (model output, file names) is only ever
// inserted as text nodes; nothing here builds HTML from strings.
import * as v from 'valibot';
import { parseAnswer } from '../src/grounding/parse';
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

/** A distinct, stable colour per label. */
function colourFor(label: string | null): string {
  let h = 0;
  for (const ch of label ?? '') h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${(h * 137.508) % 360}deg 85% 55%)`;
}

/** The image with its regions drawn over it, positioned in percent so they follow any resize. */
function stage(image: ImageView, regions: TurnView['regions']): HTMLElement {
  const figure = el('figure', 'stage');
  figure.dataset.imageId = image.id;
  // Regions are placed in percent of this box, which holds the image and nothing else.
  const wrap = el('div', 'canvas');
  figure.append(wrap);
  const img = el('img');
  img.src = image.src;
  img.alt = image.name;
  img.width = image.width;
  img.height = image.height;
  img.draggable = false;
  wrap.append(img);
  regions.forEach((r, i) => {
    const colour = colourFor(r.label);
    const mark = el('div', r.kind === 'box' ? 'region box' : 'region point');
    mark.dataset.index = String(i);
    mark.dataset.label = r.label ?? '';
    mark.style.setProperty('--region-colour', colour);
    if (r.kind === 'box') {
      const [x1, y1, x2, y2] = r.box;
      mark.style.left = `${x1 * 100}%`;
      mark.style.top = `${y1 * 100}%`;
      mark.style.width = `${(x2 - x1) * 100}%`;
      mark.style.height = `${(y2 - y1) * 100}%`;
      const px = [x1 * image.width, y1 * image.height, x2 * image.width, y2 * image.height].map(Math.round);
      mark.title = `${r.label ?? 'region'}: [${px.join(', ')}] px`;
    } else {
      mark.style.left = `${r.point[0] * 100}%`;
      mark.style.top = `${r.point[1] * 100}%`;
    }
    if (r.label) mark.append(el('span', 'region-label', r.label));
    wrap.append(mark);
  });
  figure.append(el('figcaption', undefined, `${image.name} · ${image.width}×${image.height}`));
  return figure;
}

function renderAnswer(target: HTMLElement, text: string): void {
  target.replaceChildren();
  for (const seg of parseAnswer(text).segments) {
    if (seg.kind === 'text') target.append(document.createTextNode(seg.text));
    else if (seg.kind === 'ref') target.append(el('mark', 'ref', seg.text));
    else target.append(el('span', 'boxes', seg.regions.length === 1 ? '▭' : `▭×${seg.regions.length}`));
  }
}

function renderTurn(t: TurnView): HTMLElement {
  const card = el('article', 'turn');
  card.dataset.turnId = t.id;
  card.dataset.status = t.status;
  const q = el('div', 'question');
  q.append(el('p', 'question-text', t.question));
  card.append(q);
  // Regions are drawn once: over this turn's own image, or over the conversation's latest one.
  const ownTarget = t.target && t.images.some((i) => i.id === t.target!.id);
  for (const image of t.images) q.append(stage(image, ownTarget && image.id === t.target!.id ? t.regions : []));
  const answer = el('div', 'answer');
  answer.dataset.raw = t.answer;
  answer.dataset.chunks = String(chunks.get(t.id) ?? 0);
  renderAnswer(answer, t.answer);
  card.append(answer);
  if (t.target && !ownTarget && t.regions.length > 0) card.append(stage(t.target, t.regions));
  const status = el('div', 'status');
  if (t.status === 'queued') status.textContent = 'Queued…';
  else if (t.status === 'streaming') status.textContent = t.answer ? 'Generating…' : 'Reading the image…';
  else if (t.status === 'stopped') status.textContent = 'Stopped.';
  else if (t.stats) status.textContent = t.stats;
  card.append(status);
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
  if (!turns.has(t.id)) order.push(t.id);
  turns.set(t.id, t);
  const existing = list().querySelector(`[data-turn-id="${CSS.escape(t.id)}"]`);
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
  answer.dataset.raw = t.answer;
  chunks.set(turnId, (chunks.get(turnId) ?? 0) + 1);
  answer.dataset.chunks = String(chunks.get(turnId));
  renderAnswer(answer, t.answer);
  const status = card.querySelector('.status');
  if (status) status.textContent = 'Generating…';
}

// Composer
const composer = el('form', 'composer');
const input = el('textarea');
input.rows = 2;
input.placeholder = 'Ask about the image… (Enter to send, Shift+Enter for a new line)';
input.setAttribute('aria-label', 'Question');
const sendButton = el('button', 'send', 'Send');
sendButton.type = 'submit';
const stopButton = el('button', 'stop', 'Stop');
stopButton.type = 'button';
composer.append(input, sendButton, stopButton);
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
  if (!text) return;
  send({ type: 'ask', text });
  input.value = '';
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
