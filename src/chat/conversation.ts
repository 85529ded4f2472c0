// One conversation about images: its turns, the queue of questions, and streaming answers from
// the engine. Knows nothing about webviews; the view renders what it reports.
import { randomUUID } from 'node:crypto';
import type { ChatOptions, ChatTurn, Engine } from '../engine/engine';
import { EngineError } from '../engine/errors';
import { parseRegions, RegionStream, type Region } from '../grounding';
import type { Attachment } from './attachments';
import { modelCopyReady } from '../images';
import type { TurnStatus } from '../protocol/webview';
import { GenerationRate, type GenerationRateReading } from './generationRate';

export interface TurnRecord {
  id: string;
  /** The question as the chat shows it. */
  question: string;
  /** What the model is asked, when a preset wrapped the question in a grounding prompt. */
  prompt: string | null;
  images: Attachment[];
  /** The image the answer's regions refer to: the latest image shown to the model. */
  target: Attachment | null;
  answer: string;
  status: TurnStatus;
  regions: Region[];
  /** `code` is the EngineError's, when the engine raised one (the view offers its fix). */
  error: { message: string; setting?: string; code?: string } | null;
  stats: string | null;
}

/** A conversation as the history stores it. */
export interface ConversationData {
  id: string;
  title: string;
  created: number;
  updated: number;
  turns: TurnRecord[];
}

/** A title from the first question: its first line, shortened. */
export function titleFrom(question: string): string {
  const line = question.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || 'Image conversation';
}

export type ConversationEvent =
  | { type: 'turn'; turn: TurnRecord }
  | { type: 'token'; turnId: string; text: string }
  /** The running answer's generation rate so far, a few times a second while it streams. */
  | { type: 'rate'; turnId: string; rate: GenerationRateReading }
  /** Another conversation is shown: a new one, or one opened from the history. */
  | { type: 'reset' };

export interface ConversationOptions {
  engine: () => Engine;
  chatOptions: () => ChatOptions;
  log: (message: string) => void;
  /** Makes sure the images' model-sized copies exist (a conversation read back from the history may have lost them). */
  prepareImages?: (images: Attachment[]) => Promise<void>;
  /** Milliseconds, for the live generation rate (tests drive it). */
  clock?: () => number;
}

export class Conversation {
  private readonly records: TurnRecord[] = [];
  /** Identifies the conversation in the history; a new chat gets a new one. */
  id: string = randomUUID();
  title = '';
  created = Date.now();
  updated = Date.now();
  private readonly listeners = new Set<(e: ConversationEvent) => void>();
  private running: { turn: TurnRecord; abort: AbortController } | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ConversationOptions) {}

  get turns(): readonly TurnRecord[] {
    return this.records;
  }

  onEvent(listener: (e: ConversationEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private emit(e: ConversationEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Adds a question (with images) and answers it after any turn already running. */
  ask(question: string, images: Attachment[] = [], options: { prompt?: string } = {}): Promise<TurnRecord> {
    const turn: TurnRecord = {
      id: randomUUID(),
      question,
      prompt: options.prompt ?? null,
      images,
      target: images.at(-1) ?? this.latestImage(),
      answer: '',
      status: 'queued',
      regions: [],
      error: null,
      stats: null,
    };
    this.records.push(turn);
    if (!this.title) this.title = titleFrom(question);
    this.updated = Date.now();
    this.emit({ type: 'turn', turn });
    const done = this.queue.then(() => this.run(turn));
    this.queue = done;
    return done.then(() => turn);
  }

  /** The image new questions are about: the latest one shown to the model. */
  latestImage(): Attachment | null {
    return [...this.records].reverse().find((t) => t.target)?.target ?? null;
  }

  /** Stops the running answer and drops queued questions' waiting (they still run in order). */
  stop(): void {
    this.running?.abort.abort();
  }

  /** Starts over: stops the running answer and begins a new conversation (the old one stays in the history). */
  clear(): void {
    this.replace({ id: randomUUID(), title: '', created: Date.now(), updated: Date.now(), turns: [] });
  }

  /** Shows another conversation (one read back from the history). */
  restore(data: ConversationData): void {
    this.replace(data);
  }

  private replace(data: ConversationData): void {
    this.stop();
    for (const t of this.records) if (t.status === 'queued') t.status = 'stopped';
    this.records.length = 0;
    this.records.push(...data.turns);
    this.id = data.id;
    this.title = data.title;
    this.created = data.created;
    this.updated = data.updated;
    this.emit({ type: 'reset' });
  }

  /** The conversation as the history stores it. */
  snapshot(): ConversationData {
    return { id: this.id, title: this.title, created: this.created, updated: this.updated, turns: [...this.records] };
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
      await this.queue;
    }
    this.records.pop();
    this.emit({ type: 'reset' });
    const edited = text !== undefined && text.trim() !== last.question;
    return this.ask(edited ? text.trim() : last.question, last.images, edited ? {} : { ...(last.prompt ? { prompt: last.prompt } : {}) });
  }

  private history(upTo: TurnRecord): ChatTurn[] {
    const turns: ChatTurn[] = [];
    for (const t of this.records) {
      if (t === upTo) break;
      if (t.status !== 'done' && t.status !== 'stopped') continue;
      turns.push(userTurn(t));
      turns.push({ role: 'assistant', text: t.answer, images: [] });
    }
    turns.push(userTurn(upTo));
    return turns;
  }

  private async run(turn: TurnRecord): Promise<void> {
    if (turn.status !== 'queued' || !this.records.includes(turn)) return;
    const abort = new AbortController();
    this.running = { turn, abort };
    turn.status = 'streaming';
    this.emit({ type: 'turn', turn });
    const debug = (m: string) => this.options.log(`grounding: ${m}`);
    const regionStream = new RegionStream(debug);
    const rate = new GenerationRate(this.options.clock);
    try {
      const images = this.records.slice(0, this.records.indexOf(turn) + 1).flatMap((t) => t.images);
      // A capture's model-sized copy may still be being written (src/images/prepare.ts); then
      // copies pruned since a restored conversation was saved are made again.
      await Promise.all(images.map((i) => modelCopyReady(i.model.modelPath)));
      await this.options.prepareImages?.(images);
      const outcome = await this.options.engine().chat(
        this.history(turn),
        this.options.chatOptions(),
        (text, tokens) => {
          // Tokens that arrive after Stop are not shown.
          if (abort.signal.aborted) return;
          turn.answer += text;
          this.emit({ type: 'token', turnId: turn.id, text });
          const reading = rate.add(tokens);
          if (reading) this.emit({ type: 'rate', turnId: turn.id, rate: reading });
          if (regionStream.push(text).length > 0) {
            turn.regions = [...regionStream.regions];
            this.emit({ type: 'turn', turn });
          }
        },
        abort.signal,
      );
      if (!abort.signal.aborted) turn.answer = outcome.text;
      turn.regions = parseRegions(turn.answer, turn.answer === regionStream.text ? undefined : debug);
      turn.status = abort.signal.aborted || outcome.stats.interrupted ? 'stopped' : 'done';
      const s = outcome.stats;
      turn.stats =
        `${s.contextTokens ?? '?'} prompt tokens (${s.kvReused ? `${s.reusedTokens} cached, ` : ''}${s.imageTokens} image${s.imagesEncoded === false ? ', not re-encoded' : ''})` +
        ` · first token ${s.timeToFirstTokenMs === null ? '–' : `${(s.timeToFirstTokenMs / 1000).toFixed(2)} s`}` +
        ` · ${s.generatedTokens} generated · ${s.tokensPerSecond.toFixed(1)} tok/s`;
    } catch (err) {
      turn.status = 'error';
      const message = err instanceof Error ? err.message : String(err);
      turn.error = { message, ...(err instanceof EngineError ? { code: err.code, ...(err.setting ? { setting: err.setting } : {}) } : {}) };
      this.options.log(`turn ${turn.id} failed: ${message}`);
    } finally {
      this.running = null;
      this.updated = Date.now();
      this.emit({ type: 'turn', turn });
    }
  }
}

/** The engine sees the model-sized copy of each image, never the original. */
function userTurn(t: TurnRecord): ChatTurn {
  return { role: 'user', text: t.prompt ?? t.question, images: t.images.map((i) => ({ path: i.model.modelPath })) };
}
