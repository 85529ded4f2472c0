import * as v from 'valibot';
import { errorMessage } from '../util/errorMessage';

/** Thrown when a message crossing a process or webview boundary does not match its declared shape. */
export class ProtocolError extends Error {
  constructor(
    readonly channel: string,
    readonly issues: string,
  ) {
    super(`Malformed ${channel} message: ${issues}`);
    this.name = 'ProtocolError';
  }
}

export function parseMessage<S extends v.GenericSchema>(channel: string, schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issues = result.issues
    .slice(0, 3)
    .map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`)
    .join('; ');
  throw new ProtocolError(channel, issues);
}

/** Where messages arrive from (a webview: vscode.Webview fits). */
export interface MessageSource {
  onDidReceiveMessage(listener: (raw: unknown) => void): { dispose(): void };
}

/**
 * Hands each message from `source` that matches `schema` to `handle`; a malformed one is logged
 * ("rejected <channel> message: …") and goes no further.
 */
export function onValidMessage<S extends v.GenericSchema>(
  source: MessageSource,
  channel: string,
  schema: S,
  log: (line: string) => void,
  handle: (msg: v.InferOutput<S>) => void,
): { dispose(): void } {
  return source.onDidReceiveMessage((raw) => {
    let msg: v.InferOutput<S>;
    try {
      msg = parseMessage(channel, schema, raw);
    } catch (err) {
      log(`rejected ${channel} message: ${errorMessage(err)}`);
      return;
    }
    handle(msg);
  });
}
