// The conversation: one card per turn (question, images, answer, regions, status, error, actions),
// rendered from the state and updated in place while a turn streams.
import { clipTime } from '../../src/protocol/clip';
import type { RegionExportFormat } from '../../src/grounding/exports';
import type { PixelRect } from '../../src/protocol/rect';
import { remedyLabel } from '../../src/protocol/remedy';
import type { ProgressView, TurnView, WebviewMessage } from '../../src/protocol/webview';
import { textButton, toolbarButton } from '../shared/controls';
import { el, icon, withClass } from '../shared/dom';
import { renderAnswer } from './markdown';
import { Stage, type StageHost } from './stage';
import { type ChatChange, type ChatState, isRunning } from './state';

type Send = (msg: WebviewMessage) => void;
/** `local`: the stage shows some of the turn's regions (a clip frame's): local index → the turn's index. */
type OwnStage = { stage: Stage; regionsOf: 'target' | 'none'; local?: number[] };

export class TurnList {
  readonly element = el('section', 'turns');
  /** The viewers of each rendered turn, to update them in place as regions stream in. */
  private readonly stages = new Map<string, OwnStage[]>();
  /** Answers re-render at most once a frame, however fast tokens arrive. */
  private readonly answersDue = new Set<string>();
  /** The frame shown large in each clip turn (chosen in its strip), by turn id. */
  private readonly shownFrames = new Map<string, number>();

  constructor(
    private readonly state: ChatState,
    private readonly send: Send,
    /** Called after a turn was added (true) or changed, so the page can follow the newest content. */
    private readonly grew: (added: boolean) => void,
  ) {
    this.element.setAttribute('aria-label', 'Conversation');
    state.subscribe((c) => this.update(c));
  }

  private update(change: ChatChange): void {
    switch (change.kind) {
      case 'snapshot':
        return this.renderAll();
      case 'turn':
        return this.upsert(change.turn, change.previous);
      case 'token': {
        const card = this.cardOf(change.turnId);
        const answer = card?.querySelector<HTMLElement>('.answer');
        if (!card || !answer) return;
        answer.dataset.chunks = String(this.state.chunks.get(change.turnId) ?? 0);
        this.scheduleAnswer(change.turnId);
        this.renderStatusOf(change.turnId);
        return;
      }
      case 'progress':
        return this.renderStatusOf(change.turnId);
    }
  }

  cardOf(turnId: string): HTMLElement | null {
    return this.element.querySelector<HTMLElement>(`[data-turn-id="${CSS.escape(turnId)}"]`);
  }

  private renderStatusOf(turnId: string): void {
    const t = this.state.turns.get(turnId);
    const status = this.cardOf(turnId)?.querySelector<HTMLElement>('.status');
    if (t && status) renderStatus(status, t, this.state.progress.get(turnId));
  }

  /** Hovering a region, its list entry or its words lights up all three. */
  private lightRegions(card: HTMLElement, turnId: string, indexes: number[]): void {
    const wanted = new Set(indexes);
    for (const e of card.querySelectorAll<HTMLElement>('.answer [data-regions]')) {
      e.classList.toggle('hot', e.dataset.regions!.split(' ').some((i) => wanted.has(Number(i))));
    }
    for (const s of this.stages.get(turnId) ?? []) {
      if (s.regionsOf !== 'target') continue;
      s.stage.highlight(s.local ? new Set(s.local.flatMap((original, i) => (wanted.has(original) ? [i] : []))) : wanted);
    }
  }

  /** A card for `t`; the answer of `previous` (this turn's card on the page) is taken over, its unchanged parts kept. */
  private renderTurn(t: TurnView, previous?: HTMLElement | null): HTMLElement {
    const { state, send } = this;
    const card = el('article', 'turn');
    card.dataset.turnId = t.id;
    card.dataset.status = t.status;
    card.setAttribute('aria-label', `Question: ${t.question}`);
    for (const s of this.stages.get(t.id) ?? []) s.stage.dispose();
    const own: OwnStage[] = [];
    this.stages.set(t.id, own);
    const stageHost = {
      copy: (index: number) => send({ type: 'copyRegion', turnId: t.id, index }),
      exportAnnotated: () => send({ type: 'exportAnnotated', turnId: t.id }),
      exportRegions: (format: RegionExportFormat) => send({ type: 'exportRegions', turnId: t.id, format }),
      hover: (indexes: number[]) => this.lightRegions(card, t.id, indexes),
      askRegion: (imageId: string, rect: PixelRect) => send({ type: 'askRegion', imageId, rect }),
    };

    const q = el('div', 'question');
    const qRow = el('div', 'question-row');
    qRow.append(el('p', 'question-text', t.question));
    if (state.isLast(t.id)) qRow.append(withClass(toolbarButton('edit', 'Edit and resend this question', () => this.editQuestion(card, t)), 'edit-question'));
    q.append(qRow);
    card.append(q);
    // Regions are drawn once: over this turn's own image, or over the conversation's latest one;
    // a clip's over the frame the answer named (a follow-up's below its answer, over the clip's frames).
    const followUp = t.clip !== undefined && t.images.length === 0;
    const ownTarget = (t.clip !== undefined && !followUp) || (t.target !== null && t.images.some((i) => i.id === t.target!.id));
    const numbered = t.images.length > 1;
    if (t.clip && !followUp) q.append(this.frameStrip(card, t, own, stageHost));
    else t.images.forEach((image, i) => {
      const isTarget = ownTarget && image.id === t.target!.id;
      const stage = new Stage(image, isTarget ? t.regions : [], state.viewer(t.id, image.id), stageHost, isTarget ? t.referred : undefined);
      if (numbered) stage.element.prepend(el('div', 'image-number', `Image-${i + 1}`));
      own.push({ stage, regionsOf: isTarget ? 'target' : 'none' });
      q.append(stage.element);
    });
    // Its status changed (the answer ended, an error came): the answer's nodes stay, no blank frame.
    const answer = previous?.querySelector<HTMLElement>(':scope > .answer') ?? el('div', 'answer');
    answer.dataset.raw = t.answer;
    answer.dataset.chunks = String(state.chunks.get(t.id) ?? 0);
    answer.setAttribute('aria-busy', String(isRunning(t)));
    renderAnswer(answer, t.answer, t.regions, { copy: (text) => send({ type: 'copyText', text }) });
    card.append(answer);
    if (followUp && t.regions.length > 0) card.append(this.frameStrip(card, t, own, stageHost));
    else if (t.target && !ownTarget && (t.regions.length > 0 || (t.referred?.length ?? 0) > 0)) {
      const stage = new Stage(t.target, t.regions, state.viewer(t.id, t.target.id), stageHost, t.referred);
      own.push({ stage, regionsOf: 'target' });
      card.append(stage.element);
    }
    card.addEventListener('mouseover', (e) => {
      const hit = (e.target as Element).closest<HTMLElement>('.answer [data-regions]');
      if (hit) this.lightRegions(card, t.id, hit.dataset.regions!.split(' ').filter(Boolean).map(Number));
    });
    card.addEventListener('mouseout', (e) => {
      if ((e.target as Element).closest('.answer [data-regions]')) this.lightRegions(card, t.id, []);
    });
    const status = el('div', 'status');
    status.setAttribute('role', 'status');
    renderStatus(status, t, state.progress.get(t.id));
    card.append(status);
    if (t.error) {
      const err = el('div', 'error');
      err.setAttribute('role', 'alert');
      err.append(icon('error'), el('span', 'error-message', t.error.message));
      for (const remedy of t.error.remedies) {
        const button = textButton(null, remedyLabel(remedy), () => send({ type: 'remedy', remedy }), 'action');
        button.dataset.remedy = remedy.kind;
        err.append(button);
      }
      card.append(err);
    }
    card.append(this.turnActions(t));
    return card;
  }

  /**
   * A clip's frames as a strip of thumbnails with their times; the chosen frame (at first the one
   * the answer's first region is on) is shown large below, with the regions on that frame.
   */
  private frameStrip(card: HTMLElement, t: TurnView, own: OwnStage[], host: StageHost): HTMLElement {
    const clip = t.clip!;
    const box = el('div', 'clip');
    const strip = el('div', 'frame-strip');
    strip.setAttribute('role', 'list');
    strip.setAttribute('aria-label', `${clip.name}: ${clip.frames.length} frames of ${clipTime(clip.duration)}`);
    const shown = this.shownFrames.get(t.id) ?? t.regions[0]?.frame ?? null;
    const frames = t.images.length > 0 ? t.images : (clip.images ?? []);
    frames.forEach((image, i) => {
      const f = clip.frames[i];
      if (!f) return;
      const thumb = el('button', 'frame-thumb');
      thumb.type = 'button';
      thumb.dataset.frame = String(f.number);
      thumb.setAttribute('role', 'listitem');
      thumb.setAttribute('aria-pressed', String(shown === f.number));
      const onFrame = t.regions.filter((r) => r.frame === f.number).length;
      thumb.title = `Frame${f.number}: frame ${f.index} at ${clipTime(f.seconds)}${onFrame ? ` · ${onFrame} region${onFrame === 1 ? '' : 's'}` : ''}`;
      const img = el('img');
      img.src = image.src;
      img.alt = `Frame${f.number}`;
      img.draggable = false;
      thumb.append(img, el('span', 'frame-label', `Frame${f.number} · ${clipTime(f.seconds)}`));
      if (onFrame) thumb.classList.add('has-regions');
      thumb.addEventListener('click', () => {
        this.shownFrames.set(t.id, shown === f.number ? 0 : f.number);
        const fresh = this.renderTurn(this.state.turns.get(t.id) ?? t);
        card.replaceWith(fresh);
        this.drawStages(t.id);
        fresh.querySelector<HTMLElement>(`.frame-thumb[data-frame="${f.number}"]`)?.focus();
      });
      strip.append(thumb);
    });
    box.append(strip);
    // The chosen frame's thumbnail in view: in a narrow panel the strip scrolls, and Frame3 of 8
    // would otherwise sit cut off at its edge.
    requestAnimationFrame(() => {
      const pressed = strip.querySelector<HTMLElement>('.frame-thumb[aria-pressed="true"]');
      if (!pressed || !strip.isConnected) return;
      const left = pressed.getBoundingClientRect().left - strip.getBoundingClientRect().left + strip.scrollLeft;
      if (left < strip.scrollLeft || left + pressed.offsetWidth > strip.scrollLeft + strip.clientWidth) strip.scrollLeft = left - (strip.clientWidth - pressed.offsetWidth) / 2;
    });
    const image = shown ? frames[shown - 1] : undefined;
    if (image) {
      const local: number[] = [];
      const regions = t.regions.filter((r, i) => r.frame === shown && local.push(i));
      const stage = new Stage(image, regions, this.state.viewer(t.id, image.id), {
        copy: (i) => host.copy(local[i] ?? i),
        exportAnnotated: host.exportAnnotated,
        exportRegions: host.exportRegions,
        hover: (indexes) => host.hover(indexes.map((i) => local[i] ?? i)),
        askRegion: host.askRegion,
      });
      stage.element.classList.add('frame-large');
      stage.element.dataset.frame = String(shown);
      own.push({ stage, regionsOf: 'target', local });
      box.append(stage.element);
    }
    return box;
  }

  private turnActions(t: TurnView): HTMLElement {
    const { send } = this;
    const actions = el('div', 'turn-actions');
    actions.setAttribute('role', 'toolbar');
    actions.setAttribute('aria-label', 'Answer actions');
    if (isRunning(t)) {
      actions.append(textButton('debug-stop', 'Stop', () => send({ type: 'stop' }), 'text-button secondary stop-turn'));
      return actions;
    }
    if (t.answer) actions.append(withClass(toolbarButton('copy', 'Copy answer', () => send({ type: 'copyText', text: t.answer })), 'copy-answer'));
    if (this.state.isLast(t.id)) actions.append(withClass(toolbarButton('refresh', 'Regenerate answer', () => send({ type: 'regenerate', turnId: t.id })), 'regenerate'));
    return actions;
  }

  private editQuestion(card: HTMLElement, t: TurnView): void {
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
      this.send({ type: 'editResend', turnId: t.id, text });
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
   * Updates a rendered turn in place when only its status, answer or trailing regions changed —
   * what streaming does — so each new region costs a repaint of the overlay, not a new card.
   * Returns false when the turn must be rendered afresh.
   */
  private patchTurn(card: HTMLElement, old: TurnView, t: TurnView): boolean {
    if (t.error || old.error || t.question !== old.question || imagesKey(old) !== imagesKey(t) || old.status !== t.status) return false;
    // A clip's regions go on the frames they name: the strip is drawn afresh.
    if (t.clip && t.regions.length !== old.regions.length) return false;
    const before = old.regions.length;
    if (t.regions.length < before || !sameRegion(old.regions[before - 1], t.regions[before - 1])) return false;
    if (t.regions.length > before) {
      const target = this.stages.get(t.id)?.find((s) => s.regionsOf === 'target');
      if (!target) return false;
      target.stage.setRegions(t.regions);
    }
    const status = card.querySelector<HTMLElement>('.status');
    if (status) renderStatus(status, t, this.state.progress.get(t.id));
    if (t.answer !== old.answer || t.regions.length !== before) this.scheduleAnswer(t.id);
    return true;
  }

  private scheduleAnswer(turnId: string): void {
    const answer = this.cardOf(turnId)?.querySelector<HTMLElement>('.answer');
    const t = this.state.turns.get(turnId);
    if (answer && t) answer.dataset.raw = t.answer;
    if (this.answersDue.size === 0) requestAnimationFrame(() => this.renderDueAnswers());
    this.answersDue.add(turnId);
  }

  private renderDueAnswers(): void {
    for (const id of this.answersDue) {
      const t = this.state.turns.get(id);
      const card = this.cardOf(id);
      const answer = card?.querySelector<HTMLElement>('.answer');
      if (t && card && answer) renderAnswer(answer, t.answer, t.regions, { copy: (text) => this.send({ type: 'copyText', text }) });
    }
    this.answersDue.clear();
  }

  /** Draws the overlays of cards that just went on the page (they need a laid-out size). */
  private drawStages(turnId: string): void {
    for (const s of this.stages.get(turnId) ?? []) s.stage.draw();
  }

  private renderAll(): void {
    const { state } = this;
    for (const id of this.stages.keys()) if (!state.turns.has(id)) this.stages.delete(id);
    this.element.replaceChildren(...state.order.map((id) => this.renderTurn(state.turns.get(id)!, this.cardOf(id))));
    if (state.order.length === 0) {
      const empty = el('div', 'empty');
      empty.append(
        el('p', undefined, 'Ask about an image: attach one, paste it (Ctrl+V) or drop it here, or capture the screen.'),
        el('p', undefined, 'Right-click an image in the Explorer and choose "Explain this diagram", or use a preset below to locate elements.'),
      );
      this.element.append(empty);
    }
    for (const id of state.order) this.drawStages(id);
    this.grew(true);
  }

  private upsert(t: TurnView, old: TurnView | undefined): void {
    const existing = this.cardOf(t.id);
    if (existing && old && this.patchTurn(existing, old, t)) return;
    const card = this.renderTurn(t, existing);
    if (existing) existing.replaceWith(card);
    else {
      this.element.querySelector('.empty')?.remove();
      // The turn before lost its "last turn" actions (regenerate, edit).
      const previous = this.state.order.at(-2);
      const prevCard = previous ? this.cardOf(previous) : null;
      if (prevCard) prevCard.replaceWith(this.renderTurn(this.state.turns.get(previous!)!, prevCard));
      this.element.append(card);
    }
    this.drawStages(t.id);
    this.grew(!existing);
  }
}

/**
 * The status line: a spinner while the turn runs, what it is doing, and the generation rate.
 * Updated in place: it is a polite live region, and the rate (a few updates a second) sits in a
 * part of it that is not announced, so a screen reader hears phases, not every new figure.
 */
function renderStatus(status: HTMLElement, t: TurnView, p: ProgressView | undefined): void {
  let ring = status.querySelector('vscode-progress-ring');
  if (isRunning(t) && !ring) {
    ring = document.createElement('vscode-progress-ring');
    ring.className = 'spinner';
    ring.setAttribute('aria-hidden', 'true');
    status.prepend(ring);
  } else if (!isRunning(t)) ring?.remove();
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
