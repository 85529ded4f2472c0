// The composer: grounding presets, the images waiting to be sent (thumbnail, cost, crop,
// remove), the question box, Send and Stop; and attaching by paste or drop anywhere in the app.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { PROMPT_PRESETS, PROMPT_PRESET_IDS } from '../../src/grounding/prompts';
import { formatOfMime } from '../../src/images/formats';
import { modelSight } from '../../src/images/tiling';
import type { PendingImageView, WebviewMessage } from '../../src/protocol/webview';
import { bytesToBase64 } from '../shared/base64';
import { textButton, toolbarButton } from '../shared/controls';
import { el, icon, iconButton, withClass } from '../shared/dom';
import { openCropper } from './cropper';
import type { ChatState } from './state';

type Send = (msg: WebviewMessage) => void;

// Short enough for a 300 px sidebar; the keys are in the box's tooltip and accessible description.
const ASK_PLACEHOLDER = 'Ask about the image…';
const KEYS_HINT = 'Enter sends, Shift+Enter adds a line';
/** The question box grows with its text up to this many CSS px, then scrolls. */
const MAX_INPUT_HEIGHT = 200;

export class Composer {
  readonly element = el('form', 'composer');
  private readonly presets = el('div', 'presets');
  private readonly tray = el('ul', 'attachments');
  private readonly attachError = el('div', 'attach-error');
  private readonly input = el('textarea');
  private readonly stopButton: HTMLElement;

  constructor(
    private readonly state: ChatState,
    private readonly send: Send,
  ) {
    const { element, presets, tray, attachError, input } = this;
    element.setAttribute('aria-label', 'Ask a question');
    presets.setAttribute('role', 'group');
    presets.setAttribute('aria-label', 'Grounding presets');
    for (const id of PROMPT_PRESET_IDS) {
      const b = el('button', 'preset', PROMPT_PRESETS[id].title);
      b.type = 'button';
      b.dataset.preset = id;
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', () => {
        state.choosePreset(state.preset === id ? null : id);
        input.focus();
      });
      presets.append(b);
    }
    tray.setAttribute('aria-label', 'Images to send');
    attachError.setAttribute('role', 'alert');
    input.rows = 1;
    input.placeholder = ASK_PLACEHOLDER;
    input.title = KEYS_HINT;
    input.setAttribute('aria-label', 'Question');
    input.setAttribute('aria-description', KEYS_HINT);
    input.addEventListener('input', () => this.fitInput());
    const attachButton = withClass(toolbarButton('attach', 'Attach images…', () => send({ type: 'pickImages' })), 'attach');
    const sendButton = document.createElement('vscode-button');
    sendButton.className = 'send';
    sendButton.type = 'submit';
    sendButton.iconOnly = true;
    sendButton.title = 'Send (Enter)';
    sendButton.setAttribute('aria-label', 'Send');
    sendButton.append(icon('send'));
    this.stopButton = textButton('debug-stop', 'Stop', () => send({ type: 'stop' }), 'secondary stop');
    this.stopButton.title = 'Stop generating';
    const row = el('div', 'composer-row');
    row.append(attachButton, input, sendButton, this.stopButton);
    element.append(presets, tray, attachError, row);

    element.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      const preset = state.preset;
      if (!text && preset !== 'describeRegions') return;
      send(preset ? { type: 'ask', text, preset } : { type: 'ask', text });
      input.value = '';
      this.fitInput();
      state.choosePreset(null);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        element.requestSubmit();
      }
    });
    state.subscribe((c) => {
      if (c.kind === 'pending') this.renderPending();
      else if (c.kind === 'preset') this.renderPreset();
      else if (c.kind === 'compose') this.compose(c.text);
      else if (c.kind === 'snapshot' || c.kind === 'turn') this.stopButton.hidden = !state.busy();
    });
    this.renderPending();
    this.stopButton.hidden = true;
  }

  /** Puts `text` in the question box to edit and send as it is (no preset wraps it). */
  private compose(text: string): void {
    this.state.choosePreset(null);
    this.input.value = text;
    this.fitInput();
    this.input.focus();
  }

  /** As tall as its text (no scroll arrows for a line or two), up to MAX_INPUT_HEIGHT. */
  private fitInput(): void {
    const { input } = this;
    input.style.height = 'auto';
    const border = input.offsetHeight - input.clientHeight;
    const height = Math.min(MAX_INPUT_HEIGHT, input.scrollHeight + border);
    input.style.height = `${height}px`;
    input.style.overflowY = input.scrollHeight + border > MAX_INPUT_HEIGHT ? 'auto' : 'hidden';
  }

  private renderPreset(): void {
    const id = this.state.preset;
    for (const b of this.presets.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-pressed', String(b.dataset.preset === id));
    this.input.placeholder = id ? `${PROMPT_PRESETS[id].title}: ${PROMPT_PRESETS[id].placeholder}` : ASK_PLACEHOLDER;
    this.fitInput();
  }

  private renderPending(): void {
    const { state, send } = this;
    const pending = state.pending;
    this.attachError.textContent = state.pendingError ?? '';
    this.tray.replaceChildren(
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
        const cropButton = withClass(iconButton('screen-full', `Crop ${image.name}`, () => this.cropImage(image)), 'crop');
        const remove = withClass(iconButton('close', `Remove ${image.name}`, () => send({ type: 'removeAttachment', id: image.id })), 'remove');
        const note = image.grid ? this.enlargedNote(image) : null;
        if (note) info.append(note);
        item.append(thumb, info, cropButton, remove);
        return item;
      }),
    );
    this.tray.hidden = pending.length === 0;
  }

  /** A small image the reference rule enlarges past a whole screen's cost: say so, and offer fewer tiles. */
  private enlargedNote(image: PendingImageView): HTMLElement | null {
    const size = image.crop ?? { width: image.width, height: image.height };
    const sight = modelSight(size.width, size.height, image.grid!);
    if (!sight.costlyForSize) return null;
    const note = el('span', 'model-sight costly', `${sight.summary}. `);
    const pick = el('select', 'fewer-tiles');
    pick.setAttribute('aria-label', `Fewer tiles for ${image.name}`);
    pick.append(el('option', undefined, 'Fewer tiles…'));
    const tiles = image.grid!.cols * image.grid!.rows;
    for (const n of [1, 2, 4, 6, 9].filter((n) => n < tiles)) {
      const option = el('option', undefined, `at most ${n} tile${n === 1 ? '' : 's'}`);
      option.value = String(n);
      pick.append(option);
    }
    pick.addEventListener('change', () => {
      if (pick.value) this.send({ type: 'setAttachmentTiles', id: image.id, maxTiles: Number(pick.value) });
    });
    note.append(pick);
    return note;
  }

  private cropImage(image: PendingImageView): void {
    openCropper(image, (rect) => this.send({ type: 'cropAttachment', id: image.id, rect }));
  }

  /** Paste anywhere in the document, drop anywhere on `zone`: files as bytes, Explorer items as URIs. */
  acceptImages(zone: HTMLElement): void {
    document.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.items ?? [])].filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter((f): f is File => f !== null);
      if (files.length === 0) return;
      e.preventDefault();
      this.state.setAttachError(null);
      for (const f of files) void this.attachFile(f);
    });
    zone.addEventListener('dragover', (e) => {
      if (!e.dataTransfer) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      zone.classList.add('drop-target');
    });
    zone.addEventListener('dragleave', (e) => {
      if (e.relatedTarget === null || !zone.contains(e.relatedTarget as Node)) zone.classList.remove('drop-target');
    });
    zone.addEventListener('drop', (e) => {
      zone.classList.remove('drop-target');
      const data = e.dataTransfer;
      if (!data) return;
      e.preventDefault();
      this.state.setAttachError(null);
      const files = [...data.files];
      if (files.length > 0) {
        for (const f of files) void this.attachFile(f);
        return;
      }
      // From the Explorer (hold Shift to drop into a webview): a list of resource URIs.
      const uris = (data.getData('application/vnd.code.uri-list') || data.getData('text/uri-list'))
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter((s) => s && !s.startsWith('#'));
      if (uris.length > 0) this.send({ type: 'attachUris', uris: uris.slice(0, 20) });
    });
  }

  private async attachFile(file: File): Promise<void> {
    if (!formatOfMime(file.type)) {
      this.state.setAttachError(`${file.name || 'That file'} is not an image (PNG, JPEG, GIF, BMP or WebP).`);
      return;
    }
    const data = bytesToBase64(new Uint8Array(await file.arrayBuffer()));
    this.send({ type: 'attachBytes', name: file.name || `pasted.${file.type.split('/')[1]}`, data });
  }
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
