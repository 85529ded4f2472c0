// The one way a webview app talks to the extension host: acquireVsCodeApi (callable once per
// page) wrapped in a typed channel. Every host message is validated against the app's schema in
// src/protocol/ before the app sees it; malformed ones are dropped with a console warning.
import * as v from 'valibot';

declare function acquireVsCodeApi(): { postMessage(msg: unknown): void };

let api: { postMessage(msg: unknown): void } | undefined;

export interface HostChannel<Out> {
  send(msg: Out): void;
}

/** Listens for host messages matching `schema`; `send` posts the app's own (typed) messages. */
export function connectHost<Out, In>(schema: v.GenericSchema<unknown, In>, onMessage: (msg: In) => void): HostChannel<Out> {
  api ??= acquireVsCodeApi();
  const vscode = api;
  window.addEventListener('message', (event: MessageEvent) => {
    const parsed = v.safeParse(schema, event.data);
    if (!parsed.success) {
      console.warn(`InternVL Lens: ignored malformed host message (${parsed.issues[0]?.message ?? ''})`);
      return;
    }
    onMessage(parsed.output);
  });
  return { send: (msg: Out) => vscode.postMessage(msg) };
}
