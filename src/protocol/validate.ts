import * as v from 'valibot';

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
