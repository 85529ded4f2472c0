// The chat UI inside the webview (sidebar view or editor panel). Untrusted content (model output,
// file names) is inserted as text nodes or as markdown sanitised by DOMPurify (markdown.ts);
// every message from the host is validated before it is used.
import '@vscode/codicons/dist/codicon.css';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import * as v from 'valibot';
import { PROMPT_PRESETS, PROMPT_PRESET_IDS, type PromptPreset } from '../src/grounding/prompts';
import { HostMessage, type ConversationSummary, type PendingImageView, type ProgressView, type TurnView, type WebviewMessage } from '../src/protocol/webview';
import { openCropper } from './crop';
import { el, icon, iconButton, textButton, toolbarButton } from './dom';
import { renderAnswer } from './markdown';
import { Stage, type ViewerState } from './overlay';
import './chat.css';

declare function acquireVsCodeApi(): { postMessage(msg: unknown): void };
const vscode = acquireVsCodeApi();
const send = (msg: WebviewMessage) => vscode.postMessage(msg);

const app = document.getElementById('app')!;
const turns = new Map<string, TurnView>();
const order: string[] = [];
/** Streamed token messages per turn, so tests (and curious users) can tell streaming from a final paint. */
const chunks = new Map<string, number>();
const progress = new Map<string, ProgressView>();
/** Zoom and overlay choices per image of a turn, kept across re-renders. */
const viewers = new Map<string, ViewerState>();
/** The viewers of each rendered turn, to update them in place as regions stream in. */
const stages = new Map<string, { stage: Stage; regionsOf: 'target' | 'none' }[]>();

// ---------------------------------------------------------------------------------------------
// Header: new chat and the conversation history.

const header = el('header', 'chat-header');
const historyButton = iconButton('history', 'Show conversation history', () => toggleHistory());
historyButton.classList.add('history-toggle');
historyButton.setAttribute('aria-expanded', 'false');
const titleEl = el('span', 'chat-title', '');
header.append(titleEl, historyButton, withClass(iconButton('add', 'New chat', () => send({ type: 'newChat' })), 'new-chat'));
const historyPanel = el('section', 'history');
historyPanel.setAttribute('aria-label', 'Conversation history');
historyPanel.hidden = true;
let conversations: ConversationSummary[] = [];
let currentConversation: string | null = null;

function toggleHistory(show = historyPanel.hidden): void {
  historyPanel.hidden = !show;
  historyButton.setAttribute('aria-expanded', String(show));
  if (show) (historyPanel.querySelector<HTMLElement>('.history-item button') ?? historyPanel.querySelector<HTMLElement>('button'))?.focus();
}

function renderHistory(): void {
  const current = conversations.find((c) => c.id === currentConversation);
  titleEl.textContent = current?.title ?? '';
  const list = el('ul', 'history-list');
  for (const c of conversations) {
    const item = el('li', c.id === currentConversation ? 'history-item current' : 'history-item');
    item.dataset.conversationId = c.id;
    const open = el('button', 'history-open');
    open.type = 'button';
    open.append(el('span', 'history-title', c.title), el('span', 'history-meta', `${new Date(c.updated).toLocaleString()} · ${c.turns} question${c.turns === 1 ? '' : 's'}`));
    open.setAttribute('aria-current', String(c.id === currentConversation));
    open.addEventListener('click', () => {
      send({ type: 'openConversation', id: c.id });
      toggleHistory(false);
    });
    const rename = iconButton('edit', `Rename "${c.title}"`, () => startRename(item, c));
    rename.classList.add('history-rename');
    const remove = iconButton('trash', `Delete "${c.title}"`, () => send({ type: 'deleteConversation', id: c.id }));
    remove.classList.add('history-delete');
    item.append(open, rename, remove);
    list.append(item);
  }
  const tools = el('div', 'history-tools');
  tools.append(el('span', 'history-heading', conversations.length ? 'History' : 'No saved conversations yet.'));
  if (conversations.length) tools.append(textButton('clear-all', 'Clear all', () => send({ type: 'clearHistory' }), 'text-button history-clear'));
  historyPanel.replaceChildren(tools, list);
}

function startRename(item: HTMLElement, c: ConversationSummary): void {
  const input = el('input', 'history-rename-input');
  input.value = c.title;
  input.setAttribute('aria-label', 'Conversation title');
  item.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const finish = (save: boolean) => {
    if (done) return;
    done = true;
    if (save && input.value.trim() && input.value.trim() !== c.title) send({ type: 'renameConversation', id: c.id, title: input.value.trim() });
    renderHistory();
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') finish(true);
    else if (e.key === 'Escape') finish(false);
  });
  input.addEventListener('blur', () => finish(true));
}

// ---------------------------------------------------------------------------------------------
// Turns.

function list(): HTMLElement {
  let l = app.querySelector<HTMLElement>('.turns');
  if (!l) {
    l = el('section', 'turns');
    l.setAttribute('aria-label', 'Conversation');
    historyPanel.after(l);
  }
  return l;
}

function cardOf(turnId: string): HTMLElement | null {
  return list().querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(turnId)}"]`);
}

function viewerState(key: string): ViewerState {
  let s = viewers.get(key);
  if (!s) viewers.set(key, (s = { zoom: 1, overlayHidden: false, scroll: [0, 0] }));
  return s;
}

const isLast = (t: TurnView) => order.at(-1) === t.id;
const running = (t: TurnView) => t.status === 'streaming' || t.status === 'queued';

/** Hovering a region, its list entry or its words lights up all three. */
function lightRegions(card: HTMLElement, turnId: string, indexes: number[]): void {
  const wanted = new Set(indexes);
  for (const e of card.querySelectorAll<HTMLElement>('.answer [data-regions]')) {
    e.classList.toggle('hot', e.dataset.regions!.split(' ').some((i) => wanted.has(Number(i))));
  }
  for (const s of stages.get(turnId) ?? []) if (s.regionsOf === 'target') s.stage.highlight(wanted);
}

function renderTurn(t: TurnView): HTMLElement {
  const card = el('article', 'turn');
  card.dataset.turnId = t.id;
  card.dataset.status = t.status;
  card.setAttribute('aria-label', `Question: ${t.question}`);
  for (const s of stages.get(t.id) ?? []) s.stage.dispose();
  const own: { stage: Stage; regionsOf: 'target' | 'none' }[] = [];
  stages.set(t.id, own);
  const hostFor = (turnId: string) => ({
    copy: (index: number) => send({ type: 'copyRegion', turnId, index }),
    exportAnnotated: () => send({ type: 'exportAnnotated', turnId }),
    hover: (indexes: number[]) => lightRegions(card, turnId, indexes),
  });

  const q = el('div', 'question');
  const qText = el('p', 'question-text', t.question);
  const qRow = el('div', 'question-row');
  qRow.append(qText);
  if (isLast(t)) {
    const edit = toolbarButton('edit', 'Edit and resend this question', () => editQuestion(card, t));
    edit.classList.add('edit-question');
    qRow.append(edit);
  }
  q.append(qRow);
  card.append(q);
  // Regions are drawn once: over this turn's own image, or over the conversation's latest one.
  const ownTarget = t.target !== null && t.images.some((i) => i.id === t.target!.id);
  const numbered = t.images.length > 1;
  t.images.forEach((image, i) => {
    const isTarget = ownTarget && image.id === t.target!.id;
    const stage = new Stage(image, isTarget ? t.regions : [], viewerState(`${t.id}/${image.id}`), hostFor(t.id));
    if (numbered) stage.element.prepend(el('div', 'image-number', `Image-${i + 1}`));
    own.push({ stage, regionsOf: isTarget ? 'target' : 'none' });
    q.append(stage.element);
  });
  const answer = el('div', 'answer');
  answer.dataset.raw = t.answer;
  answer.dataset.chunks = String(chunks.get(t.id) ?? 0);
  answer.setAttribute('aria-busy', String(running(t)));
  renderAnswer(answer, t.answer, t.regions, { copy: (text) => send({ type: 'copyText', text }) });
  card.append(answer);
  if (t.target && !ownTarget && t.regions.length > 0) {
    const stage = new Stage(t.target, t.regions, viewerState(`${t.id}/${t.target.id}`), hostFor(t.id));
    own.push({ stage, regionsOf: 'target' });
    card.append(stage.element);
  }
  card.addEventListener('mouseover', (e) => {
    const hit = (e.target as Element).closest<HTMLElement>('.answer [data-regions]');
    if (hit) lightRegions(card, t.id, hit.dataset.regions!.split(' ').filter(Boolean).map(Number));
  });
  card.addEventListener('mouseout', (e) => {
    if ((e.target as Element).closest('.answer [data-regions]')) lightRegions(card, t.id, []);
  });
  const status = el('div', 'status');
  status.setAttribute('role', 'status');
  renderStatus(status, t);
  card.append(status);
  if (t.error) {
    const err = el('div', 'error');
    err.setAttribute('role', 'alert');
    err.append(icon('error'), el('span', 'error-message', t.error.message));
    if (t.error.action) {
      const { id, label } = t.error.action;
      err.append(textButton(null, label, () => send({ type: 'action', id }), 'action'));
    }
    card.append(err);
  }
  card.append(turnActions(t));
  return card;
}

function turnActions(t: TurnView): HTMLElement {
  const actions = el('div', 'turn-actions');
  actions.setAttribute('role', 'toolbar');
  actions.setAttribute('aria-label', 'Answer actions');
  if (running(t)) {
    actions.append(textButton('debug-stop', 'Stop', () => send({ type: 'stop' }), 'text-button secondary stop-turn'));
    return actions;
  }
  if (t.answer) actions.append(withClass(toolbarButton('copy', 'Copy answer', () => send({ type: 'copyText', text: t.answer })), 'copy-answer'));
  if (isLast(t)) actions.append(withClass(toolbarButton('refresh', 'Regenerate answer', () => send({ type: 'regenerate', turnId: t.id })), 'regenerate'));
  return actions;
}

function editQuestion(card: HTMLElement, t: TurnView): void {
  const row = card.querySelector('.question-row')!;
  const box = el('textarea', 'edit-box');
  box.value = t.question;
  box.rows = Math.min(8, t.question.split('\n').length + 1);
  box.setAttribute('aria-label', 'Edit the question');
  const editor = el('div', 'question-row editing');
  const close = () => {
    editor.replaceWith(row);
    row.querySelector<HTMLElement>('.edit-question')?.focus();
  };
  // The host answers a resend by replacing the turn; until then the question shows as it was.
  const resend = () => {
    const text = box.value.trim();
    if (!text) return;
    send({ type: 'editResend', turnId: t.id, text });
    close();
  };
  const buttons = el('div', 'edit-buttons');
  buttons.append(textButton('send', 'Resend', resend, 'text-button resend'), textButton(null, 'Cancel', close, 'text-button secondary cancel-edit'));
  editor.append(box, buttons);
  row.replaceWith(editor);
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      resend();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  });
  box.focus();
}

/**
 * The status line: a spinner while the turn runs, what it is doing, and the generation rate.
 * Updated in place: it is a polite live region, and the rate (a few updates a second) sits in a
 * part of it that is not announced, so a screen reader hears phases, not every new figure.
 */
function renderStatus(status: HTMLElement, t: TurnView): void {
  const p = progress.get(t.id);
  let ring = status.querySelector('vscode-progress-ring');
  if (running(t) && !ring) {
    ring = document.createElement('vscode-progress-ring');
    ring.className = 'spinner';
    ring.setAttribute('aria-hidden', 'true');
    status.prepend(ring);
  } else if (!running(t)) ring?.remove();
  let text = status.querySelector<HTMLElement>('.status-text');
  let rate = status.querySelector<HTMLElement>('.status-rate');
  if (!text || !rate) {
    text = el('span', 'status-text');
    rate = el('span', 'status-rate');
    rate.setAttribute('aria-live', 'off');
    const line = el('span', 'status-line');
    line.append(text, rate);
    status.append(line);
  }
  const phase = statusText(t, p);
  if (text.textContent !== phase) text.textContent = phase;
  const generating = t.status === 'streaming' && p?.phase === 'generating' && p.tokensPerSecond !== null;
  rate.textContent = generating ? ` — ${rateText(p)}` : '';
}

/** "21.4 tok/s"; "~21 tok/s" when the engine does not count tokens (each streamed piece counts as one). */
function rateText(p: Extract<ProgressView, { phase: 'generating' }>): string {
  const r = p.tokensPerSecond ?? 0;
  return p.approximate ? `~${r.toFixed(0)} tok/s` : `${r.toFixed(1)} tok/s`;
}

function statusText(t: TurnView, p: ProgressView | undefined): string {
  if (t.status === 'queued') return 'Queued…';
  if (t.status === 'streaming') {
    if (p?.phase === 'loading') return p.percent === null ? 'Loading the model…' : `Loading the model ${Math.round(p.percent)} %`;
    if (p?.phase === 'generating' || t.answer) return p?.phase === 'generating' && p.tokensPerSecond !== null ? 'Generating' : 'Generating…';
    if (p?.phase === 'encoding' && p.tiles > 0) return `Encoding the image${t.images.length > 1 ? 's' : ''}: ${p.tiles} tile${p.tiles === 1 ? '' : 's'}…`;
    return 'Reading the image…';
  }
  if (t.status === 'stopped') return 'Stopped.';
  return t.stats ?? '';
}

const imagesKey = (t: TurnView) => `${t.images.map((i) => i.id).join(' ')}|${t.target?.id ?? ''}`;
const sameRegion = (a: TurnView['regions'][number] | undefined, b: TurnView['regions'][number] | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.kind === b.kind && a.label === b.label && a.pixels.join() === b.pixels.join());

/**
 * Updates a rendered turn in place when only its status, answer or trailing regions changed —
 * what streaming does — so each new region costs a repaint of the overlay, not a new card.
 * Returns false when the turn must be rendered afresh.
 */
function patchTurn(card: HTMLElement, old: TurnView, t: TurnView): boolean {
  if (t.error || old.error || t.question !== old.question || imagesKey(old) !== imagesKey(t) || old.status !== t.status) return false;
  const before = old.regions.length;
  if (t.regions.length < before || !sameRegion(old.regions[before - 1], t.regions[before - 1])) return false;
  if (t.regions.length > before) {
    const target = stages.get(t.id)?.find((s) => s.regionsOf === 'target');
    if (!target) return false;
    target.stage.setRegions(t.regions);
  }
  const status = card.querySelector<HTMLElement>('.status');
  if (status) renderStatus(status, t);
  if (t.answer !== old.answer || t.regions.length !== before) scheduleAnswer(t.id);
  return true;
}

/** Answers re-render at most once a frame, however fast tokens arrive. */
const answersDue = new Set<string>();
function scheduleAnswer(turnId: string): void {
  const answer = cardOf(turnId)?.querySelector<HTMLElement>('.answer');
  const t = turns.get(turnId);
  if (answer && t) answer.dataset.raw = t.answer;
  if (answersDue.size === 0) requestAnimationFrame(renderDueAnswers);
  answersDue.add(turnId);
}
function renderDueAnswers(): void {
  for (const id of answersDue) {
    const t = turns.get(id);
    const answer = cardOf(id)?.querySelector<HTMLElement>('.answer');
    if (t && answer) renderAnswer(answer, t.answer, t.regions, { copy: (text) => send({ type: 'copyText', text }) });
  }
  answersDue.clear();
}

/** Draws the overlays of cards that just went on the page (they need a laid-out size). */
function drawStages(turnId: string): void {
  for (const s of stages.get(turnId) ?? []) s.stage.draw();
}

function renderAll(): void {
  const l = list();
  for (const id of stages.keys()) if (!turns.has(id)) stages.delete(id);
  l.replaceChildren(...order.map((id) => renderTurn(turns.get(id)!)));
  if (order.length === 0) {
    const empty = el('div', 'empty');
    empty.append(
      el('p', undefined, 'Ask about an image: attach one, paste it (Ctrl+V) or drop it here, or capture the screen.'),
      el('p', undefined, 'Right-click an image in the Explorer and choose "Explain this diagram", or use a preset below to locate elements.'),
    );
    l.append(empty);
  }
  for (const id of order) drawStages(id);
  updateComposer();
}

function upsert(t: TurnView): void {
  const old = turns.get(t.id);
  if (!old) order.push(t.id);
  turns.set(t.id, t);
  const existing = cardOf(t.id);
  if (existing && old && patchTurn(existing, old, t)) {
    updateComposer();
    return;
  }
  const card = renderTurn(t);
  if (existing) existing.replaceWith(card);
  else {
    list().querySelector('.empty')?.remove();
    // The turn before lost its "last turn" actions (regenerate, edit).
    const previous = order.at(-2);
    const prevCard = previous ? cardOf(previous) : null;
    if (prevCard) prevCard.replaceWith(renderTurn(turns.get(previous!)!));
    list().append(card);
  }
  drawStages(t.id);
  updateComposer();
  card.scrollIntoView({ block: 'end' });
}

function appendToken(turnId: string, text: string): void {
  const t = turns.get(turnId);
  if (!t) return;
  t.answer += text;
  const card = cardOf(turnId);
  const answer = card?.querySelector<HTMLElement>('.answer');
  if (!card || !answer) return;
  chunks.set(turnId, (chunks.get(turnId) ?? 0) + 1);
  answer.dataset.chunks = String(chunks.get(turnId));
  scheduleAnswer(turnId);
  const status = card.querySelector<HTMLElement>('.status');
  if (status && progress.get(turnId)?.phase !== 'generating') {
    progress.set(turnId, { phase: 'generating', tokensPerSecond: null, tokens: 0, approximate: false });
    renderStatus(status, t);
  }
}

// ---------------------------------------------------------------------------------------------
// Composer: presets, waiting images, the question.

const ASK_PLACEHOLDER = 'Ask about the image… (Enter to send, Shift+Enter for a new line)';
const composer = el('form', 'composer');
composer.setAttribute('aria-label', 'Ask a question');
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
const tray = el('ul', 'attachments');
tray.setAttribute('aria-label', 'Images to send');
const attachError = el('div', 'attach-error');
attachError.setAttribute('role', 'alert');
const input = el('textarea');
input.rows = 2;
input.placeholder = ASK_PLACEHOLDER;
input.setAttribute('aria-label', 'Question');
const attachButton = withClass(toolbarButton('attach', 'Attach images…', () => send({ type: 'pickImages' })), 'attach');
const sendButton = document.createElement('vscode-button');
sendButton.className = 'send';
sendButton.type = 'submit';
sendButton.iconOnly = true;
sendButton.title = 'Send (Enter)';
sendButton.setAttribute('aria-label', 'Send');
sendButton.append(icon('send'));
const stopButton = textButton('debug-stop', 'Stop', () => send({ type: 'stop' }), 'secondary stop');
stopButton.title = 'Stop generating';
const row = el('div', 'composer-row');
row.append(attachButton, input, sendButton, stopButton);
composer.append(presets, tray, attachError, row);
let pending: PendingImageView[] = [];

function renderPending(): void {
  tray.replaceChildren(
    ...pending.map((image, i) => {
      const item = el('li', 'attachment');
      item.dataset.imageId = image.id;
      const thumb = el('img', 'thumbnail');
      thumb.src = image.src;
      thumb.alt = image.name;
      const crop = image.crop;
      const size = crop ? `${crop.width}×${crop.height} (cropped)` : `${image.width}×${image.height}`;
      const info = el('span', 'attachment-info');
      info.append(
        el('span', 'attachment-name', `${pending.length > 1 ? `Image-${i + 1}: ` : ''}${image.name}`),
        attachmentCost(`${size} · ${image.tiles} tile${image.tiles === 1 ? '' : 's'} × 256 = `, `${image.tokens.toLocaleString('en')} tokens`),
      );
      const cropButton = withClass(iconButton('screen-full', `Crop ${image.name}`, () => cropImage(image)), 'crop');
      const remove = withClass(iconButton('close', `Remove ${image.name}`, () => send({ type: 'removeAttachment', id: image.id })), 'remove');
      item.append(thumb, info, cropButton, remove);
      return item;
    }),
  );
  tray.hidden = pending.length === 0;
}

/** The image's size and tiles, and its context cost as a badge. */
function attachmentCost(detail: string, tokens: string): HTMLElement {
  const cost = el('span', 'attachment-cost', detail);
  const badge = document.createElement('vscode-badge');
  badge.className = 'attachment-tokens';
  badge.textContent = tokens;
  cost.append(badge);
  return cost;
}

function cropImage(image: PendingImageView): void {
  openCropper(image, (rect) => send({ type: 'cropAttachment', id: image.id, rect }));
}

function busy(): boolean {
  return [...turns.values()].some(running);
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

const IMAGE_TYPES = /^image\/(png|jpeg|gif|bmp|webp)$/;

async function attachFile(file: File): Promise<void> {
  if (!IMAGE_TYPES.test(file.type)) {
    attachError.textContent = `${file.name || 'That file'} is not an image (PNG, JPEG, GIF, BMP or WebP).`;
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  // base64 in slices: String.fromCharCode over megabytes at once overflows the stack.
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  send({ type: 'attachBytes', name: file.name || `pasted.${file.type.split('/')[1]}`, data: btoa(binary) });
}

document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter((f): f is File => f !== null);
  if (files.length === 0) return;
  e.preventDefault();
  attachError.textContent = '';
  for (const f of files) void attachFile(f);
});

app.addEventListener('dragover', (e) => {
  if (!e.dataTransfer) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
  app.classList.add('drop-target');
});
app.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null || !app.contains(e.relatedTarget as Node)) app.classList.remove('drop-target');
});
app.addEventListener('drop', (e) => {
  app.classList.remove('drop-target');
  const data = e.dataTransfer;
  if (!data) return;
  e.preventDefault();
  attachError.textContent = '';
  const files = [...data.files];
  if (files.length > 0) {
    for (const f of files) void attachFile(f);
    return;
  }
  // From the Explorer (hold Shift to drop into a webview): a list of resource URIs.
  const uris = (data.getData('application/vnd.code.uri-list') || data.getData('text/uri-list'))
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith('#'));
  if (uris.length > 0) send({ type: 'attachUris', uris: uris.slice(0, 20) });
});

// ---------------------------------------------------------------------------------------------

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = v.safeParse(HostMessage, event.data);
  if (!parsed.success) {
    console.warn(`InternVL Lens: ignored malformed host message (${parsed.issues[0]?.message ?? ''})`);
    return;
  }
  const msg = parsed.output;
  switch (msg.type) {
    case 'snapshot': {
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
      break;
    }
    case 'turn':
      if (!running(msg.turn)) progress.delete(msg.turn.id);
      upsert(msg.turn);
      break;
    case 'token':
      appendToken(msg.turnId, msg.text);
      break;
    case 'progress': {
      progress.set(msg.turnId, msg.progress);
      const t = turns.get(msg.turnId);
      const status = cardOf(msg.turnId)?.querySelector<HTMLElement>('.status');
      if (t && status) renderStatus(status, t);
      break;
    }
    case 'pending':
      pending = msg.images;
      attachError.textContent = msg.error ?? '';
      renderPending();
      break;
    case 'history':
      conversations = msg.conversations;
      currentConversation = msg.current;
      renderHistory();
      break;
  }
});

function withClass<T extends HTMLElement>(e: T, cls: string): T {
  e.classList.add(cls);
  return e;
}

app.append(header, historyPanel);
list();
app.append(composer);
renderHistory();
renderPending();
renderAll();
send({ type: 'ready' });
