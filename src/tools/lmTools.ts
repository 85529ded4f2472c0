// The language-model tools agents in VS Code call (Copilot's agent mode, other chat extensions, or
// any extension through vscode.lm.invokeTool): lens_locate, lens_ask and lens_capture, declared in
// package.json (contributes.languageModelTools; names, descriptions and input schemas in
// src/protocol/lmTools.ts). Each input is validated on arrival; images are named by path, file:
// URI or "latest" (imageRefs.ts); answers come from the same code as internvlLens.ground and the
// MCP server (grounding/answer.ts). A result is two text parts: the JSON (the public grounding
// result, src/protocol/grounding.ts, or a capture's path and size) and one sentence. A capture is
// always confirmed by the user first (prepareInvocation), and so is reading an image outside the
// workspace. Errors become one sentence (userErrorSentence) for the model to pass on.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Capture } from '../capture/capture';
import { CaptureError } from '../capture/errors';
import { captureAllScreens } from '../capture/monitors';
import { pickRegion } from '../capture/region';
import { encodeShot, grabScreen, orDesktopTool } from '../capture/screen';
import { captureWindow, findWindow, listWindows } from '../capture/window';
import type { Attachment } from '../chat/attachments';
import { retainAfterCapture } from '../commands/capture';
import { analyseClip, isClipPath, summariseClip } from '../cli/analyseClip';
import type { LensContext } from '../context';
import { writeFileAtomic } from '../files';
import { presetPrompt, type PromptPreset } from '../grounding';
import { answerAboutImages, locateInImages, quote, summariseResult } from '../grounding/answer';
import type { RefineMode } from '../config';
import { describeRefinement } from '../images/refine';
import { modelCopyReady, renderAnnotated } from '../images';
import type { GroundingResult } from '../protocol/grounding';
import { type CaptureInput, type CaptureToolResult, LM_TOOLS, type LmToolInput, type LmToolName, type LocateMode, parseToolInput, ToolInputError } from '../protocol/lmTools';
import { userErrorSentence } from '../protocol/remedy';
import { userErrorOf } from '../userError';
import { errorMessage } from '../util/errorMessage';
import { showError } from '../commands/showError';
import { type ImageRoots, locateImageFile, parseImageRef } from './imageRefs';

const PRESETS: Record<LocateMode, Extract<PromptPreset, 'locate' | 'pointTo' | 'findAll'>> = { box: 'locate', point: 'pointTo', all: 'findAll' };
/** Captures remembered by path (their scale factor is not in the PNG). */
const REMEMBERED_CAPTURES = 16;

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function abortSignal(token: vscode.CancellationToken): AbortSignal {
  const abort = new AbortController();
  if (token.isCancellationRequested) abort.abort();
  else token.onCancellationRequested(() => abort.abort());
  return abort.signal;
}

function textResult(json: unknown, sentence: string): vscode.LanguageModelToolResult {
  return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(JSON.stringify(json)), new vscode.LanguageModelTextPart(sentence)]);
}

/** What lens_capture is about to take, in words (the confirmation says it). */
export function describeCapture(input: CaptureInput): string {
  const monitor = input.monitor === undefined ? 'the primary monitor' : `monitor ${input.monitor}`;
  switch (input.source) {
    case 'screen':
      return `a screenshot of ${monitor}`;
    case 'allScreens':
      return 'a screenshot of all monitors in one image';
    case 'window':
      return `a screenshot of the front-most window whose title or app name contains ${quote(input.window ?? '')}`;
    case 'region':
      return input.region
        ? `a screenshot of the ${input.region.width}×${input.region.height} px rectangle at (${input.region.x}, ${input.region.y}) of ${monitor}`
        : `a screenshot of a rectangle of ${monitor} that you draw`;
  }
}

export class LensTools {
  /** The image lens_capture took last ("latest"). */
  private latestCapture: Attachment | null = null;
  private readonly captures = new Map<string, Attachment>();
  /** Files outside the workspace the user was asked about (prepareInvocation) and so allowed, until read once. */
  private readonly allowed = new Set<string>();

  constructor(private readonly ctx: LensContext) {}

  private roots(): ImageRoots {
    return {
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
      own: [this.ctx.attachments.dir],
    };
  }

  /** The files an input names that the user has to allow reading (outside the workspace); malformed references are left to invoke. */
  private async outsideFiles(refs: readonly string[]): Promise<string[]> {
    const roots = this.roots();
    const outside: string[] = [];
    for (const ref of refs) {
      try {
        const parsed = parseImageRef(ref, roots);
        if (parsed.kind !== 'file') continue;
        const file = await locateImageFile(parsed.path, roots);
        if (file.needsPermission) outside.push(file.path);
      } catch {
        /* invoke says what is wrong with it */
      }
    }
    return outside;
  }

  private async prepareImages(refs: readonly string[], doing: string): Promise<vscode.PreparedToolInvocation> {
    const outside = await this.outsideFiles(refs);
    if (this.allowed.size > 64) this.allowed.clear();
    for (const p of outside) this.allowed.add(p);
    if (outside.length === 0) return { invocationMessage: doing };
    return {
      invocationMessage: doing,
      confirmationMessages: {
        title: 'Let InternVL Lens read an image outside the workspace?',
        message: `${doing}: this reads ${outside.map((p) => `\`${p}\``).join(', ')}, which ${outside.length === 1 ? 'is' : 'are'} outside the workspace folders.`,
      },
    };
  }

  /** The image a reference names, stored and prepared for the model, and the path to report. */
  private async image(ref: string): Promise<{ attachment: Attachment; path?: string }> {
    const roots = this.roots();
    const parsed = parseImageRef(ref, roots);
    if (parsed.kind === 'latest') {
      const latest = this.latestCapture ?? this.ctx.conversation.latestImage();
      if (!latest) throw new ToolInputError('There is no latest image yet: call lens_capture first, or give an image path.');
      return { attachment: latest, path: latest.path };
    }
    const file = await locateImageFile(parsed.path, roots);
    if (file.needsPermission && !this.allowed.delete(file.path)) throw new ToolInputError(`The image ${file.path} is outside the workspace and the user has not allowed reading it.`);
    const captured = this.captures.get(file.path);
    if (captured) return { attachment: captured, path: file.path };
    try {
      return { attachment: await this.ctx.attachments.addFile(file.path), path: file.path };
    } catch (err) {
      if (err instanceof Error && err.name === 'FileRefusedError') throw new ToolInputError(err.message);
      throw err;
    }
  }

  /** The video or animated image `ref` names, when it names one (lens_ask then asks about its frames); null for a still image. */
  private async clipFile(ref: string): Promise<string | null> {
    const roots = this.roots();
    const parsed = parseImageRef(ref, roots);
    if (parsed.kind === 'latest') return null;
    const file = await locateImageFile(parsed.path, roots);
    if (!(await isClipPath(file.path))) return null;
    if (file.needsPermission && !this.allowed.delete(file.path)) throw new ToolInputError(`The video ${file.path} is outside the workspace and the user has not allowed reading it.`);
    return file.path;
  }

  /** Asks the model about the images; when it marked regions, draws them on the last image and says where that PNG is. */
  private async answer(refs: readonly string[], prompt: string, token: vscode.CancellationToken, refine?: RefineMode): Promise<GroundingResult> {
    const images: { attachment: Attachment; path?: string }[] = [];
    for (const ref of refs) images.push(await this.image(ref));
    // The chat's latest image may be a screen grab whose copies are still being written (AttachmentStore.addGrab).
    await Promise.all(images.flatMap((i) => [modelCopyReady(i.attachment.model.modelPath), modelCopyReady(i.attachment.path)]));
    const target = images.at(-1)!.attachment;
    const toAnswer = images.map((i) => ({ modelPath: i.attachment.model.modelPath, transform: i.attachment.model.transform, ...(i.path !== undefined ? { path: i.path } : {}) }));
    const options = { maxTokens: this.ctx.config.maxTokens, signal: abortSignal(token), debug: (m: string) => this.ctx.output.debug(`lm tools: ${m}`) };
    const { result, regions, stats, refinement } = refine
      ? await locateInImages(this.ctx.engine, toAnswer, prompt, {
          ...options,
          refine: { mode: refine, imagePath: target.path, maxTiles: this.ctx.config.maxTiles, outDir: this.ctx.attachments.modelDir, key: target.id },
        })
      : { ...(await answerAboutImages(this.ctx.engine, toAnswer, prompt, options)), refinement: null };
    if (stats.interrupted && token.isCancellationRequested) throw new vscode.CancellationError();
    if (refinement) this.ctx.output.info(`lens_locate: ${describeRefinement(refinement)}`);
    if (regions.length === 0) return result;
    const png = await renderAnnotated(target.path, target.model.transform, regions);
    // Beside the stored image, named like it (so retention and Clear Captures delete it too).
    const digest = createHash('sha256').update(result.answer).digest('hex').slice(0, 12);
    const annotated = join(this.ctx.attachments.dir, `${target.id.slice(0, 32)}.annotated-${digest}.png`);
    await writeFileAtomic(annotated, png);
    return { ...result, annotatedImage: annotated };
  }

  readonly locate: vscode.LanguageModelTool<unknown> = {
    prepareInvocation: async (options) => {
      const input = this.parse(LM_TOOLS.locate, options.input);
      return this.prepareImages(input ? [input.image] : [], input ? `Locating ${quote(input.target)} in ${input.image === 'latest' ? 'the latest image' : fileName(input.image)}` : 'Locating in an image');
    },
    invoke: (options, token) =>
      this.run(LM_TOOLS.locate, options.input, async (input) => {
        const result = await this.answer([input.image], presetPrompt(PRESETS[input.mode], input.target).prompt, token, input.refine ?? this.ctx.config.refine);
        const drawn = result.annotatedImage ? ` The regions are drawn on ${result.annotatedImage}.` : '';
        return textResult(result, `${summariseResult(result, input.target)}${drawn}`);
      }),
  };

  readonly ask: vscode.LanguageModelTool<unknown> = {
    prepareInvocation: async (options) => {
      const input = this.parse(LM_TOOLS.ask, options.input);
      const n = input?.images.length ?? 1;
      return this.prepareImages(input?.images ?? [], `Asking InternVL about ${n === 1 ? 'an image' : `${n} images`}`);
    },
    invoke: (options, token) =>
      this.run(LM_TOOLS.ask, options.input, async (input) => {
        const clip = input.images.length === 1 ? await this.clipFile(input.images[0]!) : null;
        if (clip) {
          const cfg = this.ctx.config;
          const answer = await analyseClip(this.ctx.engine, {
            path: clip,
            text: input.question,
            maxTokens: cfg.maxTokens,
            // A remote server has its own context: it says so itself when the frames do not fit.
            contextSize: cfg.engine === 'local' ? cfg.contextSize : null,
            ffmpegPath: cfg.ffmpegPath,
            signal: abortSignal(token),
            fewerFrames: (n) => `${n} frames would fit: raise internvlLens.contextSize, or cut the clip.`,
          });
          if (answer.stats.interrupted && token.isCancellationRequested) throw new vscode.CancellationError();
          return textResult(answer, summariseClip(answer));
        }
        const result = await this.answer(input.images, input.question, token);
        const drawn = result.annotatedImage ? ` The regions are drawn on ${result.annotatedImage}.` : '';
        return textResult(result, `${summariseResult(result, null)}${drawn}`);
      }),
  };

  readonly capture: vscode.LanguageModelTool<unknown> = {
    prepareInvocation: (options) => {
      const input = this.parse(LM_TOOLS.capture, options.input);
      const what = input ? describeCapture(input) : 'a screenshot';
      // Privacy: every capture is confirmed, whatever the input (a bad one then fails in invoke, taking nothing).
      return {
        invocationMessage: `Taking ${what}`,
        confirmationMessages: {
          title: 'Let InternVL Lens take a screenshot?',
          message: `InternVL Lens will take ${what} and save it as a PNG in its storage, for the agent to ask about. What is on the screen then may be read by the model.`,
        },
      };
    },
    invoke: (options) =>
      this.run(LM_TOOLS.capture, options.input, async (input) => {
        const { capture, result } = await this.take(input);
        const attachment = await this.ctx.attachments.add(capture.bytes, capture.name, { devicePixelRatio: capture.scaleFactor, ...(capture.pixels ? { pixels: capture.pixels } : {}) });
        this.remember(attachment);
        retainAfterCapture(this.ctx);
        const out: CaptureToolResult = { path: attachment.path, width: capture.width, height: capture.height, scaleFactor: capture.scaleFactor, source: input.source, ...result };
        this.ctx.output.info(`lm tools: captured ${describeCapture(input)}: ${capture.width}×${capture.height} px, scale ${capture.scaleFactor} → ${attachment.path}`);
        return textResult(out, `Captured ${describeCapture(input).replace(/^a screenshot of /, '')} (${capture.width}×${capture.height} device pixels, scale ${capture.scaleFactor}) to ${attachment.path}; pass it (or "latest") to lens_locate or lens_ask as image.`);
      }),
  };

  private remember(attachment: Attachment): void {
    this.latestCapture = attachment;
    this.captures.delete(attachment.path);
    this.captures.set(attachment.path, attachment);
    while (this.captures.size > REMEMBERED_CAPTURES) this.captures.delete(this.captures.keys().next().value!);
  }

  private async take(input: CaptureInput): Promise<{ capture: Capture; result: Pick<CaptureToolResult, 'monitor' | 'window'> }> {
    switch (input.source) {
      case 'screen': {
        let monitor: CaptureToolResult['monitor'];
        // Wayland without X: the desktop's screenshot tool takes it, and says nothing of monitors.
        const capture = await orDesktopTool(async () => {
          const shot = await grabScreen(input.monitor);
          monitor = { id: shot.monitor.id, name: shot.monitor.name };
          return encodeShot(shot, 'screen');
        });
        return { capture, result: monitor ? { monitor } : {} };
      }
      case 'allScreens':
        return { capture: await orDesktopTool(captureAllScreens), result: {} };
      case 'window': {
        const windows = await listWindows();
        const w = findWindow(windows, input.window!);
        if (!w) {
          const names = windows.slice(0, 20).map((x) => quote(x.title || x.appName)).join(', ');
          throw new ToolInputError(`No window's title or app name contains ${quote(input.window!)}; the windows, front-most first: ${names || 'none'}.`);
        }
        return { capture: await captureWindow(w.id), result: { window: { id: w.id, title: w.title, appName: w.appName } } };
      }
      case 'region': {
        const shot = await grabScreen(input.monitor);
        const monitor = { id: shot.monitor.id, name: shot.monitor.name };
        if (input.region) {
          const { width, height } = shot.image;
          if (input.region.x >= width || input.region.y >= height) throw new ToolInputError(`"region" starts outside the monitor, which is ${width}×${height} device pixels.`);
          return { capture: await encodeShot(shot, 'region', input.region), result: { monitor } };
        }
        const rect = await pickRegion(shot, {
          extensionUri: this.ctx.extension.extensionUri,
          scratchDir: vscode.Uri.joinPath(this.ctx.extension.globalStorageUri, 'region'),
          log: (m) => this.ctx.output.warn(m),
        });
        if (!rect) throw new CaptureError('The user closed Capture Region without choosing a rectangle.', 'failed');
        return { capture: await encodeShot(shot, 'region', rect), result: { monitor } };
      }
    }
  }

  /** The input if it is valid (prepareInvocation describes what it can). */
  private parse<N extends LmToolName>(tool: N, input: unknown): LmToolInput<N> | null {
    try {
      return parseToolInput(tool, input);
    } catch {
      return null;
    }
  }

  /** Validates the input and runs the tool; any failure becomes an Error whose message is one sentence. */
  private async run<N extends LmToolName>(tool: N, raw: unknown, body: (input: LmToolInput<N>) => Promise<vscode.LanguageModelToolResult>): Promise<vscode.LanguageModelToolResult> {
    try {
      return await body(parseToolInput(tool, raw));
    } catch (err) {
      if (err instanceof vscode.CancellationError) throw err;
      if (err instanceof ToolInputError) {
        this.ctx.output.info(`lm tools: ${tool} refused its input: ${err.message}`);
        throw new Error(err.message);
      }
      const error = userErrorOf(err, `${tool} failed`);
      this.ctx.output.warn(`lm tools: ${tool} failed: ${errorMessage(err)}`);
      // What the user can fix (a model to choose, a permission to give) is offered as buttons too.
      if (error.remedies.some((r) => r.kind !== 'showLog')) void showError(error);
      throw new Error(userErrorSentence(error));
    }
  }
}

/** Registers the tools (package.json declares them); hosts without vscode.lm.registerTool get none. */
export function registerLmTools(ctx: LensContext): void {
  if (typeof vscode.lm?.registerTool !== 'function') return;
  const tools = new LensTools(ctx);
  ctx.push(vscode.lm.registerTool(LM_TOOLS.locate, tools.locate), vscode.lm.registerTool(LM_TOOLS.ask, tools.ask), vscode.lm.registerTool(LM_TOOLS.capture, tools.capture));
}
