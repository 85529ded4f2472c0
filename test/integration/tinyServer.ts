// The tiny models served by the real llama-server (the test build), spoken to over its HTTP API
// without the engine in between: what the server itself streams, counts and refuses.
import { readFile } from 'node:fs/promises';
import { freePort, LlamaServer } from '../../src/engine/local/llamaServer';
import { testLlamaServerPath } from './support';

export type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string | Part[];
}

export interface Streamed {
  /** One per streamed delta (llama-server sends one per token), the closing <|im_end|> left out. */
  pieces: string[];
  text: string;
  finish: string | null;
  /** Whether the closing <|im_end|> arrived (printed because of --special). */
  endOfTurn: boolean;
}

const END = '<|im_end|>';

async function dataUrl(path: string): Promise<string> {
  return `data:image/png;base64,${(await readFile(path)).toString('base64')}`;
}

export class TinyServer {
  private constructor(readonly server: LlamaServer) {}

  static async start(files: { modelPath: string; mmprojPath: string | null }, contextSize = 4096): Promise<TinyServer> {
    const server = new LlamaServer(
      { executable: testLlamaServerPath(), env: {}, modelPath: files.modelPath, modelName: 'tiny', mmprojPath: files.mmprojPath, contextSize, gpuLayers: 0, threads: 2, parallel: 1 },
      await freePort(),
      () => undefined,
    );
    await server.ready();
    return new TinyServer(server);
  }

  private post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.server.baseURL}${path}`, {
      method: 'POST',
      // A new connection a request, as the local engine does (src/engine/openai/client.ts closeConnections).
      headers: { Authorization: `Bearer ${this.server.apiKey}`, 'Content-Type': 'application/json', Connection: 'close' },
      body: JSON.stringify(body),
      signal: signal ?? AbortSignal.timeout(120_000),
    });
  }

  /** Image paths in `image_url` parts become data: URLs, as the engine sends them. */
  private async encode(messages: Message[]): Promise<Message[]> {
    return Promise.all(
      messages.map(async (m) =>
        typeof m.content === 'string'
          ? m
          : { ...m, content: await Promise.all(m.content.map(async (p) => (p.type === 'image_url' ? { type: 'image_url' as const, image_url: { url: await dataUrl(p.image_url.url) } } : p))) },
      ),
    );
  }

  /** Streams a chat completion; `onPiece` may return true to stop (the connection is closed). */
  async chat(messages: Message[], extra: Record<string, unknown> = {}, onPiece?: (piece: string, count: number) => boolean): Promise<Streamed> {
    const abort = new AbortController();
    const res = await this.post('/v1/chat/completions', { messages: await this.encode(messages), temperature: 0, max_tokens: 200, stream: true, ...extra }, abort.signal);
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
    const out: Streamed = { pieces: [], text: '', finish: null, endOfTurn: false };
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
            const data = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }> };
            const choice = data.choices?.[0];
            if (choice?.finish_reason) out.finish = choice.finish_reason;
            const piece = choice?.delta?.content;
            if (!piece) continue;
            if (piece === END) {
              out.endOfTurn = true;
              continue;
            }
            out.pieces.push(piece);
            out.text += piece;
            if (onPiece?.(piece, out.pieces.length)) abort.abort();
          }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
    return out;
  }

  /** Prompt tokens of `prompt` with `images` for its media markers, as llama-server counts them. */
  private async promptTokens(prompt: string, images: string[]): Promise<number> {
    const prompt_ = images.length ? { prompt_string: prompt, multimodal_data: await Promise.all(images.map(async (p) => (await readFile(p)).toString('base64'))) } : prompt;
    const body = { prompt: prompt_, n_predict: 1, cache_prompt: false, temperature: 0 };
    const res = await this.post('/completion', body);
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
    return ((await res.json()) as { tokens_evaluated: number }).tokens_evaluated;
  }

  /** The tokens one image takes: a prompt with it minus the same prompt without (the text is tokenized alike). */
  async imageTokens(path: string): Promise<number> {
    // The server picks its media marker at random per start (so text cannot smuggle one in).
    const marker = (await this.props()).media_marker;
    return (await this.promptTokens(`x${marker}`, [path])) - (await this.promptTokens('x', []));
  }

  async props(): Promise<{ modalities: { vision: boolean; audio: boolean }; media_marker: string }> {
    return (await this.server.getJson('/props')).body as { modalities: { vision: boolean; audio: boolean }; media_marker: string };
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
