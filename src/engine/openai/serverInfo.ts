// What a server says about itself outside chat completions (llama-server's /props and /health,
// Ollama's /api/show), read by both engines: answers read with a byte bound, and the one reading
// of "can this model see".

/** A response body as text, reading at most `maxBytes` of it (the rest is never fetched); null when it is longer. */
export async function readBoundedText(res: Response, maxBytes: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** llama-server's /props `modalities.vision`: true or false when it says, null when the answer has no such field. */
export function visionFromProps(props: unknown): boolean | null {
  const vision = (props as { modalities?: { vision?: unknown } } | null)?.modalities?.vision;
  return typeof vision === 'boolean' ? vision : null;
}
