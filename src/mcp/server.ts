// `internvl-lens mcp`: a Model Context Protocol server on stdin/stdout for any agent (VS Code,
// Claude Code, Cline, Cursor, …). One engine, chosen by the CLI's engine flags (../cli/engineFlags.ts),
// stays loaded across calls and clients' requests share its slots. Tools (tools.ts): locate and
// ask_image answer in the public grounding schema (structuredContent), with a one-sentence summary
// and the image with its regions drawn (MCP image content); capture_screen, capture_window and list_monitors use
// the extension's own capture code. Progress is reported while the image is read and prepared,
// the model loads, and the prompt (the image) is encoded; a cancelled request stops generation.
// stdout carries only the protocol; every log line goes to stderr.
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { captureName } from '../capture/capture';
import { ALL_SCREENS, captureAllScreens, parseScreenTarget } from '../capture/monitors';
import { captureScreen, listMonitors } from '../capture/screen';
import { captureWindow, findWindow, listWindows, type WindowInfo } from '../capture/window';
import type { Engine } from '../engine/engine';
import { loadSharp, renderAnnotated } from '../images';
import { MAX_DECODE_PIXELS } from '../images/probe';
import { refineModeOf, type RefineMode } from '../config';
import { analyseImage, describeError, type ImageCommand, type ImageStage } from '../cli/analyseImage';
import { analyseClip, isClipPath, summariseClip } from '../cli/analyseClip';
import { ENGINE_FLAGS, engineFromFlags, UsageError, type CliLog } from '../cli/engineFlags';
import { quote, summariseResult } from '../grounding/answer';
import { MCP_SERVER_NAME } from './serverName';
import { argumentsProblem, TOOLS, type ToolName } from './tools';
import { errorMessage } from '../util/errorMessage';


/** A tool's arguments that do not fit its input schema: the message says which and why. */
class BadArguments extends Error {}

/** Writes a capture where only this user can read it; returns its path. */
async function saveCapture(bytes: Uint8Array, kind: string): Promise<string> {
  const dir = join(tmpdir(), 'internvl-lens-captures');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, captureName(kind).replace(/\.png$/, `-${process.pid}-${Date.now() % 100000}.png`));
  await writeFile(path, bytes, { mode: 0o600 });
  return path;
}

/** Longest side of the annotated image sent back: agents' image inputs are limited (and tokens cost). */
const SHOWN_MAX_SIDE = 2048;

/** The annotated PNG as sent: scaled down to SHOWN_MAX_SIDE when larger (regions stay in full pixels). */
async function shownImage(png: Buffer, width: number, height: number): Promise<{ png: Buffer; scale: number }> {
  const scale = Math.min(1, SHOWN_MAX_SIDE / Math.max(width, height));
  if (scale === 1) return { png, scale };
  const sharp = await loadSharp();
  const resized = await sharp(png, { limitInputPixels: MAX_DECODE_PIXELS }).resize(Math.round(width * scale), Math.round(height * scale)).png().toBuffer();
  return { png: resized, scale };
}

function errorResult(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

const STAGE_WORDS: Record<ImageStage, string> = {
  reading: 'Reading the image',
  preparing: 'Preparing the image for the model',
  asking: 'Encoding the image and the question',
  answering: 'Answering',
  refining: 'Looking again, zoomed in around each box',
};

interface CallContext {
  signal: AbortSignal;
  progress: (message: string) => void;
}

export class LensMcpServer {
  readonly server = new Server(
    { name: MCP_SERVER_NAME, title: 'InternVL Lens', version: '0.1.0' },
    {
      capabilities: { tools: {} },
      instructions:
        'InternVL Lens sees images, locally. capture_screen takes a screenshot; locate finds things on it and returns boxes in the image\'s pixels; ask_image answers questions about it.',
    },
  );
  /** Requests answered (tests and the log). */
  private calls = 0;

  constructor(
    private readonly engine: Engine,
    private readonly defaults: { maxTiles: number; maxTokens: number; contextSize: number | null; refine: RefineMode },
    private readonly log: CliLog,
  ) {
    this.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
    this.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const token = request.params._meta?.progressToken;
      let step = 0;
      const progress = (message: string) => {
        if (token === undefined || extra.signal.aborted) return;
        const notification: ServerNotification = { method: 'notifications/progress', params: { progressToken: token, progress: ++step, message } };
        extra.sendNotification(notification).catch(() => undefined);
      };
      const name = request.params.name as ToolName;
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      try {
        return await this.call(name, args, { signal: extra.signal, progress });
      } catch (err) {
        if (err instanceof BadArguments) return errorResult(`${name}: ${err.message}`);
        const e = describeError(err);
        this.log('info', `${name} failed: ${e.code}: ${e.message}`);
        return errorResult(e.message);
      }
    });
  }

  private async call(name: ToolName, args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> {
    const tool = TOOLS.find((t) => t.name === name);
    if (!tool) return errorResult(`There is no tool named ${quote(String(name))}; the tools are ${TOOLS.map((t) => t.name).join(', ')}.`);
    // The input schema (tools.ts) is the one statement of what the arguments may be.
    const problem = argumentsProblem(tool, args);
    if (problem) throw new BadArguments(problem);
    switch (name) {
      case 'locate':
        return this.analyse('ground', args.image as string, args.target as string, args, ctx);
      case 'ask_image':
        if (await isClipPath(args.image as string)) return this.analyseClip(args.image as string, args.question as string, args, ctx);
        if (args.frames !== undefined || args.start !== undefined || args.end !== undefined) throw new BadArguments('"frames", "start" and "end" are for a video or an animated image; this image is a still one.');
        return this.analyse('ask', args.image as string, args.question as string, args, ctx);
      case 'capture_screen':
        return this.capture(args);
      case 'capture_window':
        return this.captureWindow(args);
      case 'list_monitors': {
        const monitors = await listMonitors();
        return {
          content: [{ type: 'text', text: `${monitors.length} monitor${monitors.length === 1 ? '' : 's'}: ${monitors.map((m) => `${m.id} ${quote(m.name)} ${m.width}×${m.height} at ${m.x},${m.y}, scale ${m.scaleFactor}${m.primary ? ' (primary)' : ''}`).join('; ')}.` }],
          structuredContent: { monitors },
        };
      }
    }
  }

  private async analyse(command: ImageCommand, image: string, text: string, args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> {
    const maxTokens = (args.maxTokens as number | undefined) ?? this.defaults.maxTokens;
    const devicePixelRatio = (args.devicePixelRatio as number | undefined) ?? 1;
    const n = ++this.calls;
    // The model loads on the first request (or after a crash): say so while it does.
    const loading = this.engine.onDidChangeState((s) => {
      if (s.kind === 'loading') ctx.progress(`Loading the model${s.progress !== null ? ` (${Math.round(s.progress * 100)} %)` : ''}`);
    });
    let tokens = 0;
    let lastReport = 0;
    try {
      const { result, prepared, regions } = await analyseImage(this.engine, {
        path: image,
        command,
        text,
        maxTiles: this.defaults.maxTiles,
        maxTokens,
        devicePixelRatio,
        refine: refineModeOf(args.refine ?? this.defaults.refine),
        signal: ctx.signal,
        onStage: (stage) => ctx.progress(STAGE_WORDS[stage]),
        onToken: (_text, count) => {
          tokens += count ?? 1;
          const now = performance.now();
          if (now - lastReport >= 250) {
            lastReport = now;
            ctx.progress(`Answering (${tokens} tokens)`);
          }
        },
      });
      if (result.stats.interrupted && ctx.signal.aborted) {
        this.log('info', `call ${n} (${command}) cancelled after ${result.stats.generatedTokens} tokens`);
        return errorResult('The request was cancelled.');
      }
      this.log('info', `call ${n} (${command}) answered: ${result.stats.generatedTokens} tokens, ${result.regions.length} regions`);
      const annotated = await shownImage(await renderAnnotated(result.image.path, prepared.transform, regions), result.image.width, result.image.height);
      const summary = `${summariseResult(result, command === 'ground' ? text : null)}${annotated.scale < 1 ? ` (The image below is shown at ${Math.round(annotated.scale * 100)} %; the coordinates are of the full image.)` : ''}`;
      return {
        content: [
          { type: 'text', text: summary },
          { type: 'image', data: annotated.png.toString('base64'), mimeType: 'image/png' },
        ],
        structuredContent: result as unknown as Record<string, unknown>,
      };
    } finally {
      loading.dispose();
    }
  }

  private async analyseClip(path: string, question: string, args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> {
    const loading = this.engine.onDidChangeState((s) => {
      if (s.kind === 'loading') ctx.progress('Loading the model');
    });
    try {
      const result = await analyseClip(this.engine, {
        path,
        text: question,
        frames: args.frames as number | undefined,
        start: (args.start as number | undefined) ?? null,
        end: (args.end as number | undefined) ?? null,
        maxTokens: (args.maxTokens as number | undefined) ?? this.defaults.maxTokens,
        contextSize: this.defaults.contextSize,
        ffmpegPath: process.env.INTERNVL_LENS_FFMPEG ?? '',
        signal: ctx.signal,
        onStage: (stage) => ctx.progress(stage === 'reading' ? 'Reading the frames' : stage === 'asking' ? 'Asking the model' : 'Answering'),
        fewerFrames: (n) => `Ask again with "frames": ${n}.`,
      });
      if (result.stats.interrupted && ctx.signal.aborted) return errorResult('The request was cancelled.');
      const text = summariseClip(result);
      return { content: [{ type: 'text', text }], structuredContent: result as unknown as Record<string, unknown> };
    } finally {
      loading.dispose();
    }
  }

  private async captureWindow(args: Record<string, unknown>): Promise<CallToolResult> {
    const windows = await listWindows();
    const describe = (w: WindowInfo) => `${w.id} ${quote(w.title || w.appName)}${w.appName && w.title ? ` (${w.appName})` : ''} ${w.width}×${w.height}`;
    const title = typeof args.title === 'string' ? args.title : null;
    const target = typeof args.window === 'number' ? windows.find((w) => w.id === args.window) : title !== null ? findWindow(windows, title) : undefined;
    if (!target) {
      const asked = typeof args.window === 'number' ? `There is no window ${args.window}` : title !== null ? `No window's title or app name contains ${quote(args.title as string)}` : 'Say which window: "window" (an id) or "title"';
      return errorResult(`${asked}. The windows, front-most first: ${windows.map(describe).join('; ') || 'none'}.`);
    }
    const shot = await captureWindow(target.id);
    const path = await saveCapture(shot.bytes, 'window');
    const { id, title: t, appName, x, y, width, height } = target;
    return {
      content: [{ type: 'text', text: `Captured the window ${describe(target)} (${shot.width}×${shot.height} device pixels, scale ${shot.scaleFactor}) to ${path}.` }],
      structuredContent: { path, width: shot.width, height: shot.height, scaleFactor: shot.scaleFactor, window: { id, title: t, appName, x, y, width, height } },
    };
  }

  private async capture(args: Record<string, unknown>): Promise<CallToolResult> {
    let target;
    try {
      target = parseScreenTarget(args.monitor);
    } catch (err) {
      throw new BadArguments(errorMessage(err).replace('"screen"', '"monitor"'));
    }
    const shot = target === ALL_SCREENS ? await captureAllScreens() : await captureScreen(target);
    const path = await saveCapture(shot.bytes, target === ALL_SCREENS ? 'all-screens' : 'screen');
    const out = { path, width: shot.width, height: shot.height, scaleFactor: shot.scaleFactor };
    return {
      content: [{ type: 'text', text: `Captured ${target === ALL_SCREENS ? 'all screens' : 'the screen'} (${shot.width}×${shot.height} device pixels, scale ${shot.scaleFactor}) to ${path}.` }],
      structuredContent: out,
    };
  }
}

/** Runs the server until its client goes away (stdin ends) or a signal ends it. */
export async function runMcpServer(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...ENGINE_FLAGS, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) throw new UsageError('');
  if (positionals.length > 0) throw new UsageError(`mcp takes no arguments, only flags (got ${positionals.join(' ')})`);
  const { engine, maxTiles, maxTokens, contextSize, refine, log } = engineFromFlags(values);
  const lens = new LensMcpServer(engine, { maxTiles, maxTokens, contextSize, refine }, log);
  const transport = new StdioServerTransport();
  let closing: Promise<void> | null = null;
  const done = new Promise<void>((resolve) => {
    const close = () => {
      closing ??= (async () => {
        await lens.server.close().catch(() => undefined);
        await engine.dispose();
        resolve();
      })();
    };
    process.stdin.once('end', close);
    process.stdin.once('close', close);
    process.once('SIGTERM', close);
    process.once('SIGINT', close);
    lens.server.onclose = close;
  });
  await lens.server.connect(transport);
  log('info', `${MCP_SERVER_NAME} MCP server ready on stdio`);
  await done;
  return 0;
}
