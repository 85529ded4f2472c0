// Capture Screen / Window / Region, Paste Image from Clipboard and Clear Captures: pixels in,
// stored in the extension's storage, then asked about in the chat.
import * as vscode from 'vscode';
import { type Capture } from '../capture/capture';
import { readClipboardImage } from '../capture/clipboard';
import { CaptureError } from '../capture/errors';
import { userErrorOf } from '../userError';
import { showError } from './showError';
import { ALL_SCREENS, captureAllScreens, parseScreenTarget, type ScreenTarget, screenChoices } from '../capture/monitors';
import { pickRegion } from '../capture/region';
import { pruneCaptures } from '../capture/retention';
import { type ChatGrab, grabForChat, grabScreen, listMonitors, orDesktopTool } from '../capture/screen';
import { captureWindow, listWindows } from '../capture/window';
import type { LensContext } from '../context';
import { modelCopiesSettled } from '../images';
import { sleep } from '../util/sleep';
import { errorMessage } from '../util/errorMessage';

export const CAPTURE_PROMPT = 'Describe this screenshot.';
/** Beside VS Code's own "Press 'Enter' to confirm or 'Escape' to cancel": what each key does here. */
export const CAPTURE_QUESTION_HINT = 'Enter asks now; Escape puts the capture in the chat, waiting for your question.';
const DAY_MS = 24 * 60 * 60 * 1000;
/** Lets the workbench repaint after a quick pick closes, so it is not in the capture. */
const PICKER_CLOSE_MS = 200;
/** Retention runs this long after a capture is stored. */
const RETENTION_AFTER_CAPTURE_MS = 5000;

/**
 * Command arguments for scripting and keybindings: `question` skips the question box; `screen`
 * (Capture Screen and Region) picks a monitor by id, or "all" (Capture Screen) for every monitor
 * in one image, without the quick pick.
 */
interface CaptureArgs {
  question?: string;
  screen?: number | typeof ALL_SCREENS;
}


/** Shows why a capture failed (with the button that fixes it, if any) and logs it. */
export function reportCaptureError(ctx: LensContext, err: unknown): void {
  const error = userErrorOf(err, 'Capture failed');
  ctx.output.warn(error.message);
  void showError(error);
}

/** Files the current chat shows or sends to the model, which retention and Clear Captures must keep. */
function inUse(ctx: LensContext): Set<string> {
  const attachments = ctx.conversation.turns.flatMap((t) => [...t.images, ...(t.target ? [t.target] : [])]);
  return new Set(attachments.flatMap((a) => [a.path, a.model.modelPath, ...(a.displayPath ? [a.displayPath] : [])]));
}

/** Deletes stored images older than the retention setting (none when it is 0). */
async function applyRetention(ctx: LensContext): Promise<void> {
  const days = ctx.config.captureRetentionDays;
  if (!(days > 0)) return;
  try {
    const r = await pruneCaptures(ctx.attachments.dir, days * DAY_MS, inUse(ctx));
    if (r.removed) ctx.output.info(`retention: deleted ${r.removed} stored image(s) older than ${days} day(s)`);
  } catch (err) {
    ctx.output.warn(`retention: ${errorMessage(err)}`);
  }
}

/**
 * After a capture is stored (a capture command or the lens_capture LM tool): the retention setting
 * is applied a little later, off the capture's way, so stored captures do not pile up.
 */
export function retainAfterCapture(ctx: LensContext): void {
  setTimeout(() => void applyRetention(ctx), RETENTION_AFTER_CAPTURE_MS);
}

/** Stores a capture, asks what to ask about it, and sends it to the chat. */
async function sendToChat(ctx: LensContext, capture: Capture | ChatGrab, args: CaptureArgs | undefined, tookMs: number): Promise<void> {
  const started = performance.now();
  // The model-sized copy (and a screen grab's lossless PNG) are made in the background from the
  // grabbed pixels, once the chat has had time to show the capture; the Conversation waits for
  // them before the engine reads the copy.
  const attachment =
    'display' in capture
      ? await ctx.attachments.addGrab(capture, capture.name, { devicePixelRatio: capture.scaleFactor })
      : await ctx.attachments.add(capture.bytes, capture.name, {
          devicePixelRatio: capture.scaleFactor,
          pixels: capture.pixels,
          modelCopyInBackground: true,
        });
  ctx.output.info(
    `captured ${capture.name}: ${capture.width}×${capture.height} px, scale ${capture.scaleFactor}, stored as ${attachment.path} (capture ${tookMs.toFixed(0)} ms, store ${(performance.now() - started).toFixed(0)} ms)`,
  );
  // Not on the way to the chat: the capture goes there first.
  retainAfterCapture(ctx);
  const question =
    typeof args?.question === 'string'
      ? args.question
      : await vscode.window.showInputBox({
          title: `Ask about ${capture.name} (${capture.width}×${capture.height})`,
          value: CAPTURE_PROMPT,
          prompt: CAPTURE_QUESTION_HINT,
          ignoreFocusOut: true,
        });
  await ctx.chatView.reveal();
  // Dismissed: the capture is not lost, it waits in the chat's composer for a question.
  if (question === undefined) await ctx.chatView.addToComposer(attachment);
  else void ctx.conversation.ask(question.trim() || CAPTURE_PROMPT, [attachment]);
}

function captureCommand(ctx: LensContext, take: (args: CaptureArgs | undefined) => Promise<Capture | ChatGrab | undefined>) {
  return async (rawArgs?: CaptureArgs): Promise<void> => {
    try {
      const args = rawArgs && typeof rawArgs === 'object' ? rawArgs : undefined;
      const started = performance.now();
      const capture = await take(args);
      if (capture) await sendToChat(ctx, capture, args, performance.now() - started);
    } catch (err) {
      reportCaptureError(ctx, err);
    }
  };
}

/**
 * The screen named by the `screen` argument, else (with several screens) the one the user picks,
 * "All screens" included when `all`; undefined when the user cancels.
 */
async function pickMonitor(args: CaptureArgs | undefined, all: boolean): Promise<{ id: ScreenTarget | undefined } | undefined> {
  const given = parseScreenTarget(args?.screen);
  if (given === ALL_SCREENS && !all) throw new CaptureError('Capture Region takes one screen: pass a screen id, not "all".', 'failed');
  if (given !== undefined) return { id: given };
  // When the screens cannot be listed, capturing says why (or falls back to a desktop tool).
  const monitors = await listMonitors().catch(() => []);
  if (monitors.length <= 1) return { id: undefined };
  const picked = await vscode.window.showQuickPick(screenChoices(monitors, { all }), { title: 'Capture which screen?', matchOnDescription: true });
  if (!picked) return undefined;
  await sleep(PICKER_CLOSE_MS);
  return { id: picked.target };
}

export const captureScreen = (ctx: LensContext) =>
  captureCommand(ctx, async (args) => {
    const monitor = await pickMonitor(args, true);
    if (!monitor) return undefined;
    const id = monitor.id;
    if (id !== ALL_SCREENS) return orDesktopTool(async () => grabForChat(await grabScreen(id), 'screen'));
    // Wayland without X: the desktop's screenshot tool takes every output anyway.
    const capture = await orDesktopTool(captureAllScreens);
    if (!('layout' in capture)) return capture;
    ctx.output.info(
      `all screens: ${capture.monitors.map((m, i) => `${m.name} ${m.width}×${m.height}@(${m.x},${m.y}) scale ${m.scaleFactor} → image (${capture.layout.placements[i]!.left},${capture.layout.placements[i]!.top})`).join('; ')}`,
    );
    return capture;
  });

export const captureWindowCommand = (ctx: LensContext) =>
  captureCommand(ctx, async () => {
    const windows = await listWindows();
    if (windows.length === 0) throw new CaptureError('No window to capture was found.', 'no-window');
    const picked = await vscode.window.showQuickPick(
      windows.map((w) => ({
        label: w.title || w.appName || `Window ${w.id}`,
        description: w.title ? w.appName : '',
        detail: `${w.width}×${w.height}`,
        id: w.id,
      })),
      { title: 'Capture which window?', matchOnDescription: true },
    );
    if (!picked) return undefined;
    await sleep(PICKER_CLOSE_MS);
    return captureWindow(picked.id);
  });

export const captureRegion = (ctx: LensContext) =>
  captureCommand(ctx, async (args) => {
    const monitor = await pickMonitor(args, false);
    if (!monitor || monitor.id === ALL_SCREENS) return undefined;
    const shot = await grabScreen(monitor.id);
    const rect = await pickRegion(shot, {
      extensionUri: ctx.extension.extensionUri,
      scratchDir: vscode.Uri.joinPath(ctx.extension.globalStorageUri, 'region'),
      log: (m) => ctx.output.warn(m),
    });
    return rect && grabForChat(shot, 'region', rect);
  });

export const pasteImage = (ctx: LensContext) => captureCommand(ctx, () => readClipboardImage());

export const clearCaptures = (ctx: LensContext) => async (): Promise<void> => {
  const keep = inUse(ctx);
  const choice = await vscode.window.showWarningMessage(
    'Delete every captured and attached image stored by InternVL Lens?',
    { modal: true, detail: keep.size ? `The ${keep.size} image(s) in the current chat are kept; start a New Chat first to delete those too.` : undefined },
    'Delete',
  );
  if (choice !== 'Delete') return;
  // A copy still being written would land after the deletion (or lose its temp file to it).
  await modelCopiesSettled();
  const r = await pruneCaptures(ctx.attachments.dir, 0, keep);
  const message = `Deleted ${r.removed} stored image(s) (${(r.bytes / 1024 / 1024).toFixed(1)} MB).`;
  ctx.output.info(message);
  void vscode.window.showInformationMessage(message);
};

/** Applies the retention setting once, shortly after activation (not during it). */
export function scheduleRetention(ctx: LensContext): vscode.Disposable {
  const timer = setTimeout(() => void applyRetention(ctx), 10_000);
  return { dispose: () => clearTimeout(timer) };
}
