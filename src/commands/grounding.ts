// Grounding commands: "Locate Element…" in the chat, "Export Annotated PNG", and
// `internvlLens.ground` — image + target → regions in original pixels — for other extensions.
import * as vscode from 'vscode';
import { activeImageUri, captureFile } from '../capture/file';
import type { Attachment } from '../chat/attachments';
import { regionImage, shownRegions, type TurnRecord } from '../chat/records';
import type { LensContext } from '../context';
import { presetPrompt, type PromptPreset } from '../grounding';
import { locateInImages } from '../grounding/answer';
import { playwrightClicks, pyautoguiClicks, regionsCsv, regionsJson, regionsMarkdown, type PyautoguiPlatform, type RegionExportFormat } from '../grounding/exports';
import { refineModeOf, type RefineMode } from '../config';
import { modelCopyReady, renderAnnotated, toGroundingResult } from '../images';
import { describeRefinement } from '../images/refine';
import type { GroundingResult } from '../protocol/grounding';
import { userErrorOf } from '../userError';
import { pickImage } from './explain';
import { showError } from './showError';

async function attachUri(ctx: LensContext, uri: vscode.Uri, options: { maxTiles?: number } = {}): Promise<Attachment> {
  const captured = await captureFile(uri);
  return ctx.attachments.add(captured.bytes, captured.name, options);
}

/** Asks for a target on the current image (the one open in the editor, else the chat's latest) and answers with boxes. */
export function locateElement(ctx: LensContext) {
  return async (): Promise<void> => {
    const open = activeImageUri();
    const latest = ctx.conversation.latestImage();
    let uri = open;
    if (!uri && !latest) uri = await pickImage('Locate', 'Choose an image to locate an element in');
    if (!uri && !latest) return;
    // Attach first, so the question box can say what the image costs before anything is sent.
    let images: Attachment[] = [];
    if (uri) {
      try {
        images = [await attachUri(ctx, uri)];
      } catch (err) {
        const error = userErrorOf(err, `Could not read ${uri.fsPath}`);
        ctx.output.warn(error.message);
        void showError(error);
        return;
      }
    }
    const image = images[0] ?? latest!;
    const target = await vscode.window.showInputBox({
      title: `Locate an element in ${image.name}`,
      prompt: `Describe the element; the answer draws its box over the image (${image.width}×${image.height}: ${image.tiles} tiles, ${image.model.tokens.toLocaleString('en')} tokens).`,
      placeHolder: 'e.g. the Save button',
      ignoreFocusOut: true,
    });
    if (!target?.trim()) return;
    const { question, prompt } = presetPrompt('locate', target);
    await ctx.chatView.reveal();
    await ctx.conversation.ask(question, images, { prompt, refine: true });
  };
}

/** Saves a turn's image with its regions drawn, at original resolution. */
export function exportAnnotated(ctx: LensContext) {
  return async (turnId?: string, options?: { uri?: vscode.Uri }): Promise<vscode.Uri | undefined> => {
    const turns = ctx.conversation.turns;
    const turn = typeof turnId === 'string' ? turns.find((t) => t.id === turnId) : [...turns].reverse().find((t) => t.target && t.regions.length > 0);
    if (!turn?.target || turn.regions.length === 0) {
      void vscode.window.showInformationMessage('InternVL Lens: no answer with regions to export yet. Ask to locate something first.');
      return undefined;
    }
    // A clip turn: the frame its first region is on, with the regions on that frame.
    const target = regionImage(turn, 0) ?? turn.target;
    const regions = shownRegions(turn).filter((_, i) => regionImage(turn, i) === target);
    const uri = options?.uri instanceof vscode.Uri ? options.uri : await chooseSaveUri('Export annotated image', `${baseName(target.name)}-annotated.png`, { 'PNG image': ['png'] });
    if (!uri) return undefined;
    // A screen grab's lossless PNG may still be being written (AttachmentStore.addGrab).
    await modelCopyReady(target.path);
    const png = await renderAnnotated(target.path, target.model.transform, regions);
    await vscode.workspace.fs.writeFile(uri, png);
    ctx.output.info(`exported ${regions.length} region(s) over ${target.name} to ${uri.fsPath}`);
    void confirmExport(uri, regions.length);
    return uri;
  };
}

/** A file name's stem: `screen.png` → `screen`. */
function baseName(name: string): string {
  return name.replace(/\.[^.]+$/, '') || 'image';
}

/** The save dialog every export opens: in the first workspace folder, named `fileName`. */
async function chooseSaveUri(title: string, fileName: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return vscode.window.showSaveDialog({ title, saveLabel: 'Export', filters, ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, fileName) } : {}) });
}

/** pyautogui's coordinates depend on the OS the snippet runs on: this one's (see src/grounding/exports.ts). */
function pyautoguiPlatform(): PyautoguiPlatform {
  return process.platform === 'darwin' ? 'darwin' : process.platform === 'win32' ? 'win32' : 'linux';
}

const EXPORT_FILES = {
  json: { title: 'Export regions as JSON', ext: 'json', filter: 'JSON (InternVL Lens grounding result)' },
  csv: { title: 'Export regions as CSV', ext: 'csv', filter: 'CSV' },
  markdown: { title: 'Export regions as Markdown (with the annotated PNG beside it)', ext: 'md', filter: 'Markdown' },
} as const;

/**
 * The region list's exports: JSON, CSV and Markdown are written to a file the user picks (Markdown
 * with the annotated PNG beside it); the click snippets go to the clipboard. Returns where the
 * file went (undefined for the clipboard or a cancelled dialog).
 */
export async function exportRegions(turn: TurnRecord, format: RegionExportFormat, options: { uri?: vscode.Uri; log: (m: string) => void }): Promise<vscode.Uri | undefined> {
  if (!turn.target || turn.regions.length === 0) {
    options.log(`exportRegions: turn ${turn.id} has no regions`);
    return undefined;
  }
  const target = turn.target;
  const result = toGroundingResult(target.model.transform, turn.answer, shownRegions(turn), target.path);
  if (format === 'playwright' || format === 'pyautogui') {
    const text = format === 'playwright' ? playwrightClicks(result) : pyautoguiClicks(result, pyautoguiPlatform());
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`InternVL Lens: copied ${turn.regions.length} ${format === 'playwright' ? 'Playwright' : 'pyautogui'} click${turn.regions.length === 1 ? '' : 's'}`, 3000);
    return undefined;
  }
  const file = EXPORT_FILES[format];
  const uri = options.uri ?? (await chooseSaveUri(file.title, `${baseName(target.name)}-regions.${file.ext}`, { [file.filter]: [file.ext] }));
  if (!uri) return undefined;
  let text: string;
  if (format === 'markdown') {
    const png = vscode.Uri.joinPath(uri, '..', `${baseName(uri.path.split('/').pop() ?? 'regions')}.png`);
    await modelCopyReady(target.path);
    await vscode.workspace.fs.writeFile(png, await renderAnnotated(target.path, target.model.transform, shownRegions(turn)));
    text = regionsMarkdown(result, target.name, png.path.split('/').pop()!);
  } else text = format === 'json' ? regionsJson(result) : regionsCsv(result);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  options.log(`exported ${turn.regions.length} region(s) over ${target.name} as ${format} to ${uri.fsPath}`);
  void confirmExport(uri, turn.regions.length);
  return uri;
}

/** Says where the export went, with the two things one does next. Not awaited: the command returns at once. */
async function confirmExport(uri: vscode.Uri, regions: number): Promise<void> {
  const name = uri.path.split('/').pop() ?? uri.fsPath;
  const choice = await vscode.window.showInformationMessage(
    `InternVL Lens: exported ${name} (${regions} region${regions === 1 ? '' : 's'} drawn at the image's own resolution).`,
    'Open',
    'Reveal in Explorer',
  );
  if (choice === 'Open') await vscode.commands.executeCommand('vscode.open', uri);
  else if (choice === 'Reveal in Explorer') await vscode.commands.executeCommand('revealInExplorer', uri);
}

/** What `internvlLens.ground` returns. */
export interface GroundArgs {
  /** The image: a URI, a URI string or an absolute path, or encoded image bytes. */
  image: vscode.Uri | string | Uint8Array;
  /** What to find, e.g. "the Save button". */
  target: string;
  /** "locate" (default, boxes), "pointTo" (a click point) or "findAll" (every instance). */
  preset?: Extract<PromptPreset, 'locate' | 'pointTo' | 'findAll'>;
  maxTiles?: number;
  /** Zoom-in refine after locating: 'auto' | 'always' | 'off'; default the internvlLens.grounding.refine setting. */
  refine?: RefineMode;
}

/**
 * For other extensions and agents: `executeCommand('internvlLens.ground', { image, target })`
 * (or `(image, target)`) → regions in original pixels. Does not touch the chat.
 */
export function ground(ctx: LensContext) {
  return async (first: GroundArgs | GroundArgs['image'], second?: string): Promise<GroundingResult> => {
    const args: GroundArgs = isGroundArgs(first) ? first : { image: first, target: second ?? '' };
    if (typeof args.target !== 'string' || !args.target.trim()) throw new Error('internvlLens.ground needs a target: what to find in the image.');
    const preset = args.preset ?? 'locate';
    if (!['locate', 'pointTo', 'findAll'].includes(preset)) throw new Error(`internvlLens.ground: unknown preset ${String(preset)}.`);
    const options = typeof args.maxTiles === 'number' ? { maxTiles: args.maxTiles } : {};
    const uri = args.image instanceof Uint8Array ? undefined : typeof args.image === 'string' ? uriOf(args.image) : args.image;
    const attachment = uri ? await attachUri(ctx, uri, options) : await ctx.attachments.add(args.image as Uint8Array, 'image', options);
    const prompt = presetPrompt(preset, args.target).prompt;
    const path = uri?.scheme === 'file' ? uri.fsPath : undefined;
    const transform = attachment.model.transform;
    const image = { modelPath: attachment.model.modelPath, transform, ...(path !== undefined ? { path } : {}) };
    const mode = args.refine === undefined ? ctx.config.refine : refineModeOf(args.refine);
    const { result, refinement } = await locateInImages(ctx.engine, [image], prompt, {
      maxTokens: ctx.config.maxTokens,
      debug: (m) => ctx.output.debug(`grounding: ${m}`),
      refine: { mode, imagePath: attachment.path, maxTiles: args.maxTiles ?? ctx.config.maxTiles, outDir: ctx.attachments.modelDir, key: attachment.id },
    });
    if (refinement) ctx.output.info(`internvlLens.ground: ${describeRefinement(refinement)}`);
    return result;
  };
}

function isGroundArgs(x: unknown): x is GroundArgs {
  return typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && !(x instanceof vscode.Uri) && 'image' in x;
}

/** A URI string, or a plain absolute path (which `Uri.parse` would misread on Windows). */
function uriOf(s: string): vscode.Uri {
  return /^(\/|[A-Za-z]:[\\/])/.test(s) ? vscode.Uri.file(s) : vscode.Uri.parse(s, true);
}
