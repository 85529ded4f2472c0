// The chat webview's messages → their handlers: a table with one handler per WebviewMessage type
// (the compiler refuses a table that misses one or names one that does not exist). A message is
// validated before it is routed; one that does not match its declared shape is refused with a
// ProtocolError, logged, and never reaches a handler. A handler that throws or rejects is logged
// too: nothing a webview sends can throw into the extension host. No vscode import.
import { parseMessage, ProtocolError } from '../protocol/validate';
import { WebviewMessage } from '../protocol/webview';
import { errorMessage } from '../util/errorMessage';

export type WebviewMessageType = WebviewMessage['type'];

/** One handler per message type; `surface` is the webview that sent it. What it returns is awaited (a rejection is logged). */
export type WebviewHandlers<S> = {
  [K in WebviewMessageType]: (msg: Extract<WebviewMessage, { type: K }>, surface: S) => unknown;
};

export type WebviewRouter<S> = (surface: S, raw: unknown) => Promise<void>;

/** Routes raw webview messages through `handlers`; the promise resolves once the handler has (never rejects). */
export function createRouter<S>(handlers: WebviewHandlers<S>, log: (message: string) => void): WebviewRouter<S> {
  return async (surface, raw) => {
    let msg: WebviewMessage;
    try {
      msg = parseMessage('webview', WebviewMessage, raw);
    } catch (err) {
      log(`rejected webview message: ${err instanceof ProtocolError ? err.message : String(err)}`);
      return;
    }
    // TypeScript cannot pair a union member with its handler by itself; the table's type does.
    const handler = handlers[msg.type] as (m: WebviewMessage, s: S) => unknown;
    try {
      await handler(msg, surface);
    } catch (err) {
      log(`webview ${msg.type}: ${errorMessage(err)}`);
    }
  };
}
