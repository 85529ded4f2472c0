// "Explain this video": a video or an animated image from the Explorer, the editor title or the
// palette → its frames (InternVL's get_index, one tile each) in the chat as one question. The cost
// in tokens is shown before anything is sent; a clip that would not fit the context is refused
// with the numbers, and the frames that fit are offered. Explain this video (choose frames)… asks
// first for the count and, optionally, a part of the clip.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { pickRegion } from '../capture/region';
import { grabScreen, listMonitors } from '../capture/screen';
import type { TurnRecord } from '../chat/records';
import type { LensContext } from '../context';
import { clipTime } from '../protocol/clip';
import type { PixelRect } from '../protocol/rect';
import { clipOfRecording, MAX_RECORD_FPS, MAX_RECORD_SECONDS, recordScreen } from '../video/record';
import { COMMANDS } from './ids';
import { Settings } from '../config';
import { MOVING_EXTENSIONS, hasExtension } from '../images/formats';
import { userErrorOf } from '../userError';
import { sampleClip } from '../video/clip';
import { budgetRefusal, DEFAULT_FRAME_COUNT, FEWER_FRAME_CHOICES, frameBudget, frameCountLabel, frameTokens, MORE_FRAME_CHOICES, parseTimeRange } from '../video/sampling';
import { showUnreadable } from './explain';
import { showError } from './showError';

export const EXPLAIN_VIDEO_PROMPT = 'Describe what happens in this video, step by step.';
export const RECORDING_PROMPT = 'This is a screen recording. Describe what happens, step by step, and say at which frame anything goes wrong.';

/** The video or animated image in the active editor tab, if that is what it shows. */
function activeClipUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && hasExtension(uri.path, MOVING_EXTENSIONS) ? uri : undefined;
}

/** How many frames to send: `wanted`, or fewer when those would not fit (the user agrees); null: refused. */
async function chooseFrameCount(ctx: LensContext, name: string, question: string, wanted = DEFAULT_FRAME_COUNT): Promise<number | null> {
  const cfg = ctx.config;
  // The conversation's earlier turns stay in the prompt: what they hold is not room for frames.
  const used = conversationTokens(ctx.conversation.turns);
  const budget = frameBudget(wanted, question, cfg.maxTokens, Math.max(0, cfg.contextSize - used));
  if (budget.fits) return wanted;
  const fewer = `Use ${budget.mostFrames} Frames`;
  const held = used > 0 ? ` This chat already holds about ${used.toLocaleString('en-US')} of the ${cfg.contextSize.toLocaleString('en-US')} tokens; a New Chat frees them.` : '';
  const message = budgetRefusal(name, budget, (n) => `${n} frames fit (${frameTokens(n).toLocaleString('en-US')} tokens).${held}`);
  ctx.output.warn(message);
  if (budget.mostFrames === 0) {
    void showError({ message, code: 'context-overflow', remedies: [...(used > 0 ? [{ kind: 'newChat' as const }] : []), { kind: 'openSetting', setting: Settings.contextSize }] });
    return null;
  }
  const choice = await vscode.window.showWarningMessage(message, { modal: true }, fewer, 'Open Settings');
  if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', Settings.contextSize);
  return choice === fewer ? budget.mostFrames : null;
}

/** About how many context tokens a conversation's turns take: their images, and their text at ~3 characters a token. */
function conversationTokens(turns: readonly TurnRecord[]): number {
  let n = 0;
  for (const t of turns) {
    if (t.status !== 'done' && t.status !== 'stopped') continue;
    n += t.images.reduce((sum, a) => sum + a.model.tokens, 0) + Math.ceil(((t.prompt ?? t.question).length + t.answer.length) / 3) + 16;
  }
  return n;
}

/** Which frames: a count, and optionally a part of the clip in seconds. */
interface FramesChoice {
  frames: number;
  start: number | null;
  end: number | null;
}

type FramesItem = vscode.QuickPickItem & { frames?: number; range?: boolean };

/** The frame count (default first, then fewer, more) and a time range; undefined when dismissed. */
async function pickFrames(ctx: LensContext, name: string, question: string): Promise<FramesChoice | undefined> {
  const room = Math.max(0, ctx.config.contextSize - conversationTokens(ctx.conversation.turns));
  let range: { start: number | null; end: number | null } = { start: null, end: null };
  for (;;) {
    const count = (n: number, description?: string): FramesItem => {
      const b = frameBudget(n, question, ctx.config.maxTokens, room);
      return { label: frameCountLabel(n), frames: n, ...(description ? { description } : {}), ...(b.fits ? {} : { detail: `$(warning) about ${b.needed.toLocaleString('en-US')} tokens with the question and answer; ${room.toLocaleString('en-US')} are free` }) };
    };
    const part = range.start === null && range.end === null ? 'the whole clip' : `${range.start === null ? 'the start' : `${range.start} s`} to ${range.end === null ? 'the end' : `${range.end} s`}`;
    const items: FramesItem[] = [
      count(DEFAULT_FRAME_COUNT, 'the default'),
      { label: 'fewer', kind: vscode.QuickPickItemKind.Separator },
      ...FEWER_FRAME_CHOICES.map((n) => count(n)),
      { label: 'more', kind: vscode.QuickPickItemKind.Separator },
      ...MORE_FRAME_CHOICES.map((n) => count(n)),
      { label: 'part of the clip', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(clock) A time range…', description: part, range: true },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: `Explain ${name}: which frames? (${part})`, placeHolder: 'Frames spread evenly over the clip, one 448-px tile each' });
    if (!picked) return undefined;
    if (!picked.range) return { frames: picked.frames ?? DEFAULT_FRAME_COUNT, ...range };
    const typed = await vscode.window.showInputBox({
      title: `Explain ${name}: which part?`,
      prompt: 'From-to in seconds or m:ss, e.g. 5-20, 1:05-1:30; 30- is from 30 s to the end',
      value: range.start === null && range.end === null ? '' : `${range.start ?? ''}-${range.end ?? ''}`,
      validateInput: (text) => (parseTimeRange(text) ? null : 'Type the start and end, e.g. 5-20 (the start before the end)'),
    });
    const parsed = typed === undefined ? null : parseTimeRange(typed);
    if (parsed) range = parsed;
  }
}

/** Explain this video (choose frames)…: the count and the part of the clip picked first. */
export function explainVideoFrames(ctx: LensContext) {
  return explainClip(ctx, true);
}

export function explainVideo(ctx: LensContext) {
  return explainClip(ctx, false);
}

function explainClip(ctx: LensContext, choose: boolean) {
  return async (uri?: vscode.Uri): Promise<void> => {
    let target = uri instanceof vscode.Uri ? uri : activeClipUri();
    if (!target) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        openLabel: 'Explain',
        title: 'Choose a video or an animated image to explain',
        filters: { 'Videos and animations': [...MOVING_EXTENSIONS] },
      });
      target = picked?.[0];
      if (!target) return;
    }
    const name = target.path.split('/').pop() ?? target.fsPath;
    const question = EXPLAIN_VIDEO_PROMPT;
    const choice: FramesChoice | undefined = choose ? await pickFrames(ctx, name, question) : { frames: DEFAULT_FRAME_COUNT, start: null, end: null };
    if (!choice) return;
    const frames = await chooseFrameCount(ctx, name, question, choice.frames);
    if (frames === null) return;
    const part = choice.start === null && choice.end === null ? '' : ` from ${choice.start ?? 0} s to ${choice.end === null ? 'the end' : `${choice.end} s`}`;
    const cost = `${frames} frames${part} × ${frameTokens(1)} = ${frameTokens(frames).toLocaleString('en-US')} image tokens`;
    ctx.output.info(`Explain this video: ${name}, ${cost}`);
    let stored;
    try {
      stored = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `InternVL Lens: ${name}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          // The cost, before anything is sent.
          progress.report({ message: `reading ${cost}…` });
          const clip = await sampleClip(target.fsPath, { frames, start: choice.start, end: choice.end, ffmpegPath: ctx.config.ffmpegPath, signal: abort.signal });
          progress.report({ message: `${cost}: asking…` });
          return ctx.attachments.addClip(clip);
        },
      );
    } catch (err) {
      showUnreadable(ctx, target, err);
      return;
    }
    await ctx.chatView.reveal();
    await ctx.conversation.ask(question, stored.frames, { clip: stored.record });
  };
}

/** The recording running now (one at a time): Stop Recording, or the status-bar item, ends it. */
let recording: { abort: AbortController } | null = null;

/** Arguments for keybindings and tests: skip the questions. */
interface RecordArgs {
  screen?: number;
  rect?: PixelRect;
  seconds?: number;
  fps?: number;
}

function positive(n: unknown, max: number): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 && n <= max ? n : undefined;
}

/** What to record: a monitor or a region of one, from the arguments or the user; undefined when cancelled. */
async function pickArea(ctx: LensContext, args: RecordArgs | undefined): Promise<{ monitorId?: number; rect?: PixelRect } | undefined> {
  if (args && (args.screen !== undefined || args.rect !== undefined)) return { ...(args.screen !== undefined ? { monitorId: args.screen } : {}), ...(args.rect ? { rect: args.rect } : {}) };
  const monitors = await listMonitors().catch(() => []);
  const items: (vscode.QuickPickItem & { monitorId?: number; region?: boolean })[] = [
    ...monitors.map((m) => ({ label: `$(device-desktop) ${m.name}`, description: `${m.width}×${m.height}${m.primary ? ' · primary' : ''}`, monitorId: m.id })),
    { label: '$(screen-normal) A region…', description: 'drag a rectangle on the screen', region: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: 'Record which screen?' });
  if (!picked) return undefined;
  if (!picked.region) return { ...(picked.monitorId !== undefined ? { monitorId: picked.monitorId } : {}) };
  const shot = await grabScreen();
  const rect = await pickRegion(shot, { extensionUri: ctx.extension.extensionUri, scratchDir: vscode.Uri.joinPath(ctx.extension.globalStorageUri, 'region'), log: (m) => ctx.output.warn(m) });
  return rect ? { monitorId: shot.monitor.id, rect } : undefined;
}

async function pickNumber(title: string, choices: number[], unit: string): Promise<number | undefined> {
  const picked = await vscode.window.showQuickPick(choices.map((n) => ({ label: `${n} ${unit}`, n })), { title });
  return picked?.n;
}

/** Record Screen…: a monitor or a region, for a duration, at a rate; a status-bar item shows the time and stops it. */
export function recordScreenCommand(ctx: LensContext) {
  return async (args?: RecordArgs): Promise<void> => {
    if (recording) {
      recording.abort.abort();
      return;
    }
    let area;
    try {
      area = await pickArea(ctx, args);
    } catch (err) {
      void showError(userErrorOf(err, 'Record Screen failed'));
      return;
    }
    if (!area) return;
    const seconds = positive(args?.seconds, MAX_RECORD_SECONDS) ?? (await pickNumber('Record for how long?', [5, 10, 30, 60, 120], 's'));
    if (seconds === undefined) return;
    const fps = positive(args?.fps, MAX_RECORD_FPS) ?? (await pickNumber('Frames per second?', [1, 2, 5], 'fps'));
    if (fps === undefined) return;
    const abort = new AbortController();
    recording = { abort };
    // Only the latest recording's frames are kept (its chosen frames live on as the chat's images).
    const recordings = join(ctx.extension.globalStorageUri.fsPath, 'recordings');
    await rm(recordings, { recursive: true, force: true }).catch((err: unknown) => ctx.output.warn(`Record Screen: could not delete the last recording: ${String(err)}`));
    const item = vscode.window.createStatusBarItem('internvlLens.recording', vscode.StatusBarAlignment.Left, 1000);
    item.name = 'InternVL Lens Recording';
    item.command = COMMANDS.stopRecording;
    item.tooltip = 'Stop the recording (InternVL Lens)';
    item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    const started = Date.now();
    let frames = 0;
    const show = () => (item.text = `$(record) ${clipTime((Date.now() - started) / 1000).slice(0, -2)} / ${clipTime(seconds).slice(0, -2)} · ${frames} frames`);
    show();
    item.show();
    const ticker = setInterval(show, 500);
    void vscode.commands.executeCommand('setContext', 'internvlLens.recording', true);
    let rec;
    try {
      rec = await recordScreen({
        ...area,
        fps,
        seconds,
        outDir: join(recordings, `recording-${started}`),
        signal: abort.signal,
        onFrame: (n) => {
          frames = n;
          show();
        },
      });
    } catch (err) {
      void showError(userErrorOf(err, 'Record Screen failed'));
      return;
    } finally {
      clearInterval(ticker);
      item.dispose();
      recording = null;
      void vscode.commands.executeCommand('setContext', 'internvlLens.recording', false);
    }
    ctx.output.info(`Record Screen: ${rec.frames.length} frames (${rec.skipped} skipped) of ${rec.width}×${rec.height} in ${rec.duration.toFixed(1)} s`);
    const count = await chooseFrameCount(ctx, rec.name, RECORDING_PROMPT);
    if (count === null) return;
    const stored = await ctx.attachments.addClip(await clipOfRecording(rec, count));
    await ctx.chatView.reveal();
    await ctx.conversation.ask(RECORDING_PROMPT, stored.frames, { clip: stored.record });
  };
}

/** Stop Recording: ends the running recording (its frames are kept and asked about). */
export function stopRecording() {
  return (): void => recording?.abort.abort();
}
