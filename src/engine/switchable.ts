// The engine the extension talks to: local or remote as the settings say, swapped when they
// change. Listeners and callers hold this one object; the engine behind it is built only when
// selected (so local mode never constructs, let alone contacts, the remote one) and disposed
// when replaced.
import type { EngineKind } from '../config';
import { EngineStateEvents, type ChatOptions, type ChatOutcome, type ChatTurn, type Engine, type EngineState, type LoadedModel, type TokenListener } from './engine';

export class SwitchableEngine implements Engine {
  private engine: Engine;
  private currentKind: EngineKind;
  private subscription: { dispose(): void };
  /** Told of the state changes of whichever engine runs (the state itself is that engine's). */
  private readonly states = new EngineStateEvents();
  /** Swaps run one after another, each waiting for the old engine to end. */
  private switching: Promise<void> = Promise.resolve();

  constructor(
    private readonly build: (kind: EngineKind) => Engine,
    kind: EngineKind,
  ) {
    this.currentKind = kind;
    this.engine = build(kind);
    this.subscription = this.follow(this.engine);
  }

  /** Which engine answers now. */
  get kind(): EngineKind {
    return this.currentKind;
  }

  /** The engine behind this one (tests and diagnostics). */
  get current(): Engine {
    return this.engine;
  }

  private follow(engine: Engine): { dispose(): void } {
    return engine.onDidChangeState((s) => {
      if (engine === this.engine) this.states.set(s);
    });
  }

  /** Switches to `kind` (a no-op when it already runs): the old engine is disposed, stopping what it was doing. */
  use(kind: EngineKind): Promise<void> {
    this.switching = this.switching.then(async () => {
      if (kind === this.currentKind) return;
      const old = this.engine;
      this.subscription.dispose();
      this.currentKind = kind;
      this.engine = this.build(kind);
      this.subscription = this.follow(this.engine);
      this.states.set(this.engine.state);
      await old.dispose();
    });
    return this.switching;
  }

  get state(): EngineState {
    return this.engine.state;
  }

  onDidChangeState(listener: (state: EngineState) => void): { dispose(): void } {
    return this.states.on(listener);
  }

  chat(turns: ChatTurn[], options: ChatOptions, onToken: TokenListener, signal?: AbortSignal): Promise<ChatOutcome> {
    return this.engine.chat(turns, options, onToken, signal);
  }

  load(): Promise<LoadedModel> {
    return this.engine.load();
  }

  unload(): Promise<void> {
    return this.engine.unload();
  }

  restart(): Promise<LoadedModel> {
    return this.engine.restart();
  }

  async dispose(): Promise<void> {
    this.subscription.dispose();
    this.states.clear();
    await this.switching;
    await this.engine.dispose();
  }
}
