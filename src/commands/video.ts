// "Explain this video": a video or an animated image from the Explorer, the editor title or the
// palette → its frames (InternVL's get_index, one tile each) in the chat as one question. The cost
// in tokens is shown before anything is sent; a clip that would not fit the context is refused
// with the numbers, and the frames that fit are offered.
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { Settings } from '../config';
import { MOVING_EXTENSIONS, hasExtension } from '../images/formats';
import { userErrorOf } from '../userError';
import { sampleClip } from '../video/clip';
import { budgetRefusal, DEFAULT_FRAME_COUNT, frameBudget, frameTokens } from '../video/sampling';
import { showError } from './showError';

export const EXPLAIN_VIDEO_PROMPT = 'Describe what happens in this video, step by step.';

/** The video or animated image in the active editor tab, if that is what it shows. */
function activeClipUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && hasExtension(uri.path, MOVING_EXTENSIONS) ? uri : undefined;
}

/** How many frames to send: the default, or fewer when the default would not fit (the user agrees); null: refused. */
async function chooseFrameCount(ctx: LensContext, name: string, question: string): Promise<number | null> {
  const cfg = ctx.config;
  const budget = frameBudget(DEFAULT_FRAME_COUNT, question, cfg.maxTokens, cfg.contextSize);
  if (budget.fits) return DEFAULT_FRAME_COUNT;
  const fewer = `Use ${budget.mostFrames} Frames`;
  const message = budgetRefusal(name, budget, (n) => `${n} frames fit (${frameTokens(n).toLocaleString('en-US')} tokens).`);
  ctx.output.warn(message);
  if (budget.mostFrames === 0) {
    void showError({ message, code: 'context-overflow', remedies: [{ kind: 'openSetting', setting: Settings.contextSize }] });
    return null;
  }
  const choice = await vscode.window.showWarningMessage(message, { modal: true }, fewer, 'Open Settings');
  if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', Settings.contextSize);
  return choice === fewer ? budget.mostFrames : null;
}

export function explainVideo(ctx: LensContext) {
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
    const frames = await chooseFrameCount(ctx, name, question);
    if (frames === null) return;
    const cost = `${frames} frames × ${frameTokens(1)} = ${frameTokens(frames).toLocaleString('en-US')} image tokens`;
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
          const clip = await sampleClip(target.fsPath, { frames, ffmpegPath: ctx.config.ffmpegPath, signal: abort.signal });
          progress.report({ message: `${cost}: asking…` });
          return ctx.attachments.addClip(clip);
        },
      );
    } catch (err) {
      const error = userErrorOf(err, `Could not read ${target.fsPath}`);
      ctx.output.warn(error.message);
      void showError(error);
      return;
    }
    await ctx.chatView.reveal();
    await ctx.conversation.ask(question, stored.frames, { clip: stored.record });
  };
}
