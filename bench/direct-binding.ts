// The baseline for bench/engine.bench.ts: @fugood/llama.node called directly, in a child process
// of its own, with the options the worker uses. It answers one job per IPC message.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ChatMessage, LlamaContext, LlamaNode } from './llama-node-api';
import { GROUNDING_SPECIAL_TOKENS } from '../src/grounding/tokens';

export interface DirectJob {
  messages: ChatMessage[];
  maxTokens: number;
}

export interface DirectLoad {
  model: string;
  mmproj: string;
  contextSize: number;
  threads: number;
}

export interface Timing {
  ttftMs: number;
  /** Tokens after the first, per second of wall time between the first and the last. */
  tokensPerSecond: number;
  tokens: number;
  /** Prompt tokens evaluated (not reused from the KV cache), as the binding reports them. */
  promptTokens: number;
  text: string;
}

const root = fileURLToPath(new URL('..', import.meta.url));
// tsconfig maps the package to a declaration for type checks and tsx applies it: load it by folder.
const binding = createRequire(import.meta.url)(join(root, 'node_modules', '@fugood', 'llama.node')) as LlamaNode;
let context: LlamaContext | null = null;

async function run(job: DirectJob): Promise<Timing> {
  const ctx = context!;
  const start = performance.now();
  let first = 0;
  let last = 0;
  let tokens = 0;
  const result = await ctx.completion(
    { messages: job.messages, jinja: true, n_predict: job.maxTokens, temperature: 0, preserved_tokens: [...GROUNDING_SPECIAL_TOKENS] },
    (t) => {
      if (!t.token) return;
      last = performance.now();
      if (!tokens++) first = last;
    },
  );
  // Counted as the engine counts them: the binding's own figure.
  tokens = result.timings.predicted_n;
  return { ttftMs: first - start, tokensPerSecond: ((tokens - 1) * 1000) / (last - first), tokens, promptTokens: result.timings.prompt_n, text: result.text };
}

process.on('message', (msg: { load?: DirectLoad; job?: DirectJob }) => {
  void (async () => {
    if (msg.load) {
      // The same settings the worker passes for threads > 0 and gpuLayers 0 (src/worker/main.ts).
      context = await binding.loadModel({ model: msg.load.model, n_ctx: msg.load.contextSize, n_threads: msg.load.threads, n_gpu_layers: 0, lib_variant: 'default' });
      await context.initMultimodal({ path: msg.load.mmproj, use_gpu: false });
      process.send!({ loaded: true });
    } else if (msg.job) {
      process.send!({ timing: await run(msg.job) });
    }
  })().catch((err: unknown) => process.send!({ error: String(err) }));
});
process.on('disconnect', () => process.exit(0));
