// One conversation about images: its turns, the queue of questions, and streaming answers from
// the engine. Knows nothing about webviews; the view renders what it reports.
import { randomUUID } from 'node:crypto';
import type { ChatOptions, ChatTurn, Engine } from '../engine/engine';
import { parseRegions, RegionStream } from '../grounding';
import type { Attachment } from './attachments';
import type { RefineMode } from '../config';
import { modelCopyReady } from '../images';
import { describeRefinement, refineRegions, shouldRefine } from '../images/refine';
import { userErrorOf } from '../userError';
import { GenerationRate, type GenerationRateReading } from './generationRate';
import { clipFrames, type ClipRecord, type ConversationData, type TurnRecord } from './records';
import { regionFrames } from '../video/regions';
import { errorMessage } from '../util/errorMessage';
import { SerialQueue } from '../util/serialQueue';

/** Longest title made from a question: three lines of the history list in a 300 px sidebar. */
const TITLE_CHARS = 80;
/** Room kept for the image's name in a title. */
const TITLE_IMAGE_CHARS = 32;

/**
 * A title from the first question and the image it is about: the question's first line, shortened,
 * then the image's name. Questions the extension asks (Explain this diagram, Describe this
 * screenshot.) are the same every time: the image tells those conversations apart.
 */
export function titleFrom(question: string, imageName?: string): string {
  const line = (question.trim().split('\n')[0] ?? '').trim();
  const name = imageName?.trim() ?? '';
  const shown = name.length > TITLE_IMAGE_CHARS ? `${name.slice(0, TITLE_IMAGE_CHARS - 1)}…` : name;
  const room = shown ? TITLE_CHARS - shown.length - 3 : TITLE_CHARS;
  const head = line.length > room ? `${line.slice(0, room - 1).trimEnd()}…` : line;
  if (!shown) return head || 'Image conversation';
  return head ? `${head} · ${shown}` : shown;
}

export type ConversationEvent =
  | { type: 'turn'; turn: TurnRecord }
  | { type: 'token'; turnId: string; text: string }
  /** The running answer's generation rate so far, a few times a second while it streams. */
  | { type: 'rate'; turnId: string; rate: GenerationRateReading }
  /** Another conversation is shown: a new one, or one opened from the history. */
  | { type: 'reset' };

/** Where conversations are kept (the HistoryStore): saves of one id must land in the order asked. */
export interface ConversationStore {
  save(data: ConversationData): Promise<void>;
}

/** Streamed text reaches the store at least this often (a finished turn at once). */
export const STREAM_FLUSH_MS = 1000;

export interface ConversationOptions {
  engine: () => Engine;
  chatOptions: () => ChatOptions;
  log: (message: string) => void;
  /** Keeps every change: a finished turn at once, streamed text every STREAM_FLUSH_MS. None: nothing is kept. */
  store?: ConversationStore;
  /** Makes sure the images' model-sized copies exist (a conversation read back from the history may have lost them). */
  prepareImages?: (images: Attachment[]) => Promise<void>;
  /** Milliseconds, for the live generation rate (tests drive it). */
  clock?: () => number;
  /** Zoom-in refine after a locate preset's answer (src/images/refine.ts); none: never. */
  refine?: () => { mode: RefineMode; maxTiles: number; outDir: string };
}

function emptyConversation(): ConversationData {
  return { id: randomUUID(), title: '', created: Date.now(), updated: Date.now(), turns: [] };
}

/**
 * The conversation on screen, and the one place that persists it: every change is handed to the
 * store (saves of one conversation are serialised there), so what the view or a crash does
 * cannot lose a turn. Starting another conversation saves the old one first, as it stands.
 */
export class Conversation {
  /** The conversation shown; a running turn keeps a reference to its own, so its end is saved there even after a New Chat. */
  private data: ConversationData = emptyConversation();
  /** Conversations deleted from the history: a late save (an aborted answer ending) must not bring them back. */
  private readonly discarded = new WeakSet<ConversationData>();
  private streamFlush: NodeJS.Timeout | null = null;
  private readonly saving = new Set<Promise<void>>();
  private readonly listeners = new Set<(e: ConversationEvent) => void>();
  private running: { turn: TurnRecord; abort: AbortController } | null = null;
  /** Questions are answered one after another, in the order asked. */
  private readonly queue = new SerialQueue();

  constructor(private readonly options: ConversationOptions) {}

  private get records(): TurnRecord[] {
    return this.data.turns;
  }

  get turns(): readonly TurnRecord[] {
    return this.data.turns;
  }

  /** Identifies the conversation in the history; a new chat gets a new one. */
  get id(): string {
    return this.data.id;
  }

  get title(): string {
    return this.data.title;
  }

  get created(): number {
    return this.data.created;
  }

  get updated(): number {
    return this.data.updated;
  }

  /** Renames the conversation; resolves once the new title is stored. */
  rename(title: string): Promise<void> {
    this.data.title = title.trim() || this.data.title;
    return this.persist(this.data);
  }

  onEvent(listener: (e: ConversationEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private emit(e: ConversationEvent): void {
    // A turn of a conversation no longer shown (after New Chat, or another one opened) still ends
    // in the background and is stored; only the shown conversation's turns reach the view.
    if (e.type !== 'reset') {
      const id = e.type === 'turn' ? e.turn.id : e.turnId;
      if (!this.data.turns.some((t) => t.id === id)) return;
    }
    for (const l of this.listeners) l(e);
  }

  /**
   * Hands `data` as it stands to the store (nothing for an empty or deleted conversation). A
   * failure is logged: the next change saves it all again.
   */
  private persist(data: ConversationData): Promise<void> {
    if (data === this.data && this.streamFlush) {
      clearTimeout(this.streamFlush);
      this.streamFlush = null;
    }
    const { store } = this.options;
    if (!store || data.turns.length === 0 || this.discarded.has(data)) return Promise.resolve();
    const saved = store.save({ ...data, turns: [...data.turns] }).catch((err: unknown) => {
      this.options.log(`history: saving ${data.id} failed: ${errorMessage(err)}`);
    });
    this.saving.add(saved);
    void saved.finally(() => this.saving.delete(saved));
    return saved;
  }

  /** Streamed text is saved within STREAM_FLUSH_MS of arriving. */
  private persistSoon(): void {
    this.streamFlush ??= setTimeout(() => {
      this.streamFlush = null;
      void this.persist(this.data);
    }, STREAM_FLUSH_MS);
  }

  /** Saves the conversation now and resolves once every save asked for so far is stored. */
  async flush(): Promise<void> {
    void this.persist(this.data);
    while (this.saving.size > 0) await Promise.all([...this.saving]);
  }

  /** Adds a question (with images) and answers it after any turn already running. */
  /** `clip`: the images are that clip's frames, in order (asked as `Frame1: <image>…`); `refine`: a locate preset's zoom-in pass may follow. */
  ask(question: string, images: Attachment[] = [], options: { prompt?: string; clip?: ClipRecord; refine?: boolean } = {}): Promise<TurnRecord> {
    const turn: TurnRecord = {
      id: randomUUID(),
      question,
      prompt: options.prompt ?? null,
      ...(options.refine ? { refine: true } : {}),
      images,
      target: images.at(-1) ?? this.latestImage(),
      answer: '',
      status: 'queued',
      regions: [],
      error: null,
      stats: null,
      ...clipOf(images, options.clip, this.latestClipTurn()),
    };
    this.records.push(turn);
    if (!this.data.title) this.data.title = titleFrom(question, (images[0] ?? turn.target)?.name);
    this.data.updated = Date.now();
    void this.persist(this.data);
    this.emit({ type: 'turn', turn });
    return this.queue.run(() => this.run(turn)).then(() => turn);
  }

  /** The latest turn with an image the model was shown. */
  private latestShown(): TurnRecord | undefined {
    return [...this.records].reverse().find((t) => t.target);
  }

  /** The turn that showed the latest image, when that was a clip's frames (a follow-up's regions go on them). */
  private latestClipTurn(): TurnRecord | null {
    const shown = this.latestShown();
    return shown?.clip && clipFrames(shown).length > 0 ? shown : null;
  }

  /** The image new questions are about: the latest one shown to the model. */
  latestImage(): Attachment | null {
    return this.latestShown()?.target ?? null;
  }

  /** Stops the running answer and drops queued questions' waiting (they still run in order). */
  stop(): void {
    this.running?.abort.abort();
  }

  /**
   * Starts over: stops the running answer and begins a new conversation. The old one is saved
   * first, as it stands (its running answer up to the last token shown); resolves once it is
   * stored. `discard`: the old one was deleted from the history and is not saved again.
   */
  clear(options: { discard?: boolean } = {}): Promise<void> {
    return this.replace(emptyConversation(), options.discard === true);
  }

  /** Shows another conversation (one read back from the history), saving the one shown first. */
  restore(data: ConversationData): Promise<void> {
    return this.replace({ ...data, turns: [...data.turns] }, false);
  }

  private replace(data: ConversationData, discard: boolean): Promise<void> {
    const old = this.data;
    this.stop();
    for (const t of old.turns) if (t.status === 'queued') t.status = 'stopped';
    if (discard) this.discarded.add(old);
    const saved = this.persist(old);
    this.data = data;
    this.emit({ type: 'reset' });
    return saved;
  }

  /** Stops the running answer and stores what there is: for the extension's shutdown. */
  dispose(): Promise<void> {
    this.stop();
    return this.flush();
  }

  /** The conversation as the history stores it. */
  snapshot(): ConversationData {
    return { ...this.data, turns: [...this.data.turns] };
  }

  /**
   * Asks the last question again, replacing its answer; with `text`, asks the edited question
   * instead (same images). Only the last turn can be redone: later turns would depend on it.
   */
  async redo(turnId: string, text?: string): Promise<TurnRecord | null> {
    const last = this.records.at(-1);
    if (!last || last.id !== turnId) {
      this.options.log(`redo: ${turnId} is not the last turn`);
      return null;
    }
    if (this.running?.turn === last) {
      this.stop();
      await this.queue.idle();
    }
    this.records.pop();
    void this.persist(this.data);
    this.emit({ type: 'reset' });
    const edited = text !== undefined && text.trim() !== last.question;
    const clip = last.clip ? { clip: last.clip } : {};
    return this.ask(edited ? text.trim() : last.question, last.images, edited ? clip : { ...(last.prompt ? { prompt: last.prompt } : {}), ...(last.refine ? { refine: true } : {}), ...clip });
  }

  private history(records: readonly TurnRecord[], upTo: TurnRecord): ChatTurn[] {
    const turns: ChatTurn[] = [];
    for (const t of records) {
      if (t === upTo) break;
      if (t.status !== 'done' && t.status !== 'stopped') continue;
      turns.push(userTurn(t));
      turns.push({ role: 'assistant', text: t.answer, images: [] });
    }
    turns.push(userTurn(upTo));
    return turns;
  }

  /**
   * After a locate preset's answer: a zoom-in pass around each box (src/images/refine.ts), when the
   * setting asks for one. The answer's regions stay (drawn faint); a failed or stopped refine
   * keeps them alone and says so in the stats, never failing the turn.
   */
  private async refineTurn(turn: TurnRecord, signal: AbortSignal): Promise<void> {
    const settings = this.options.refine?.();
    const target = turn.target;
    if (!settings || !turn.refine || !target || turn.regions.length === 0 || !shouldRefine(settings.mode, target.model.transform)) return;
    turn.stats = `${turn.stats ?? ''} · refining…`;
    this.emit({ type: 'turn', turn });
    const first = turn.stats.slice(0, -' · refining…'.length);
    try {
      // A screen grab's lossless original may still be being written.
      await modelCopyReady(target.path);
      const outcome = await refineRegions({
        engine: this.options.engine(),
        imagePath: target.path,
        transform: target.model.transform,
        regions: turn.regions,
        prompt: turn.prompt ?? turn.question,
        maxTiles: settings.maxTiles,
        maxTokens: this.options.chatOptions().maxTokens,
        outDir: settings.outDir,
        key: target.id,
        signal,
      });
      turn.refined = outcome.refined;
      turn.stats = `${first} · ${describeRefinement(outcome)}`;
      this.options.log(`turn ${turn.id}: ${describeRefinement(outcome)}`);
    } catch (err) {
      turn.stats = `${first} · ${signal.aborted ? 'refine stopped' : `refine failed: ${errorMessage(err)}`}`;
      this.options.log(`turn ${turn.id}: refine ${signal.aborted ? 'stopped' : `failed: ${errorMessage(err)}`}`);
    }
  }

  private async run(turn: TurnRecord): Promise<void> {
    if (turn.status !== 'queued' || !this.records.includes(turn)) return;
    // The conversation this turn belongs to: a New Chat while it runs does not move its answer.
    const owner = this.data;
    const abort = new AbortController();
    this.running = { turn, abort };
    turn.status = 'streaming';
    this.emit({ type: 'turn', turn });
    const debug = (m: string) => this.options.log(`grounding: ${m}`);
    const regionStream = new RegionStream(debug);
    const rate = new GenerationRate(this.options.clock);
    try {
      const images = owner.turns.slice(0, owner.turns.indexOf(turn) + 1).flatMap((t) => t.images);
      // A capture's model-sized copy may still be being written (src/images/prepare.ts); then
      // copies pruned since a restored conversation was saved are made again.
      await Promise.all(images.map((i) => modelCopyReady(i.model.modelPath)));
      await this.options.prepareImages?.(images);
      const outcome = await this.options.engine().chat(
        this.history(owner.turns, turn),
        this.options.chatOptions(),
        (text, tokens) => {
          // Tokens that arrive after Stop are not shown.
          if (abort.signal.aborted) return;
          turn.answer += text;
          this.persistSoon();
          this.emit({ type: 'token', turnId: turn.id, text });
          const reading = rate.add(tokens);
          if (reading) this.emit({ type: 'rate', turnId: turn.id, rate: reading });
          if (regionStream.push(text).length > 0) {
            turn.regions = [...regionStream.regions];
            placeOnFrames(turn);
            this.emit({ type: 'turn', turn });
          }
        },
        abort.signal,
      );
      if (!abort.signal.aborted) turn.answer = outcome.text;
      turn.regions = parseRegions(turn.answer, turn.answer === regionStream.text ? undefined : debug);
      placeOnFrames(turn);
      const stopped = abort.signal.aborted || outcome.stats.interrupted;
      const s = outcome.stats;
      turn.stats =
        `${s.contextTokens ?? '?'} prompt tokens (${s.kvReused ? `${s.reusedTokens} cached, ` : ''}${s.imageTokens} image${s.imagesEncoded === false ? ', not re-encoded' : ''})` +
        ` · first token ${s.timeToFirstTokenMs === null ? '–' : `${(s.timeToFirstTokenMs / 1000).toFixed(2)} s`}` +
        ` · ${s.generatedTokens} generated · ${s.tokensPerSecond.toFixed(1)} tok/s`;
      if (!stopped) await this.refineTurn(turn, abort.signal);
      turn.status = stopped || abort.signal.aborted ? 'stopped' : 'done';
    } catch (err) {
      turn.status = 'error';
      turn.error = userErrorOf(err);
      this.options.log(`turn ${turn.id} failed: ${turn.error.message}`);
    } finally {
      this.running = null;
      owner.updated = Date.now();
      // On disk before anything else happens: the next question, a New Chat, a crash.
      const saved = this.persist(owner);
      this.emit({ type: 'turn', turn });
      await saved;
    }
  }
}

/** The engine sees the model-sized copy of each image, never the original; a clip's as frames. */
function userTurn(t: TurnRecord): ChatTurn {
  return { role: 'user', text: t.prompt ?? t.question, images: t.images.map((i) => ({ path: i.model.modelPath })), ...(t.clip && t.images.length > 0 ? { frames: true } : {}) };
}

/**
 * A turn's clip: the one its images are the frames of; with no images, a follow-up about the clip
 * the conversation last showed (its regions drawn on those frames, none sent again).
 */
function clipOf(images: Attachment[], clip: ClipRecord | undefined, latest: TurnRecord | null): Pick<TurnRecord, 'clip' | 'clipFrames'> {
  if (images.length > 0) return clip ? { clip: { ...clip, regionFrames: [] } } : {};
  return latest?.clip ? { clip: { ...latest.clip, regionFrames: [] }, clipFrames: clipFrames(latest) } : {};
}

/** A clip turn's regions: on the frame the answer named before each (src/video/regions.ts). */
function placeOnFrames(turn: TurnRecord): void {
  if (turn.clip) turn.clip.regionFrames = regionFrames(turn.answer, turn.clip.frames.length).slice(0, turn.regions.length);
}
