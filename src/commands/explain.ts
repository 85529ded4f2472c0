// "Explain this diagram": from the Explorer context menu, or the palette for the active image.
import * as vscode from 'vscode';
import { activeImageUri, captureFile } from '../capture/file';
import type { LensContext } from '../context';
import { EXPLAINABLE_EXTENSIONS } from '../images/formats';
import { userErrorOf } from '../userError';
import { showError } from './showError';

export const EXPLAIN_PROMPT = 'Explain this diagram: what it shows, its main parts and how they relate.';

export async function pickImage(openLabel = 'Explain', title = 'Choose an image to explain'): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel,
    title,
    filters: { Images: [...EXPLAINABLE_EXTENSIONS] },
  });
  return picked?.[0];
}

/** A file Explain this diagram (or video) could not read: logged, and shown with its remedies. */
export function showUnreadable(ctx: LensContext, target: vscode.Uri, err: unknown): void {
  const error = userErrorOf(err, `Could not read ${target.fsPath}`);
  ctx.output.warn(error.message);
  void showError(error);
}

export function explainImage(ctx: LensContext) {
  return async (uri?: vscode.Uri): Promise<void> => {
    let target = uri instanceof vscode.Uri ? uri : activeImageUri();
    if (!target) {
      const choice = await vscode.window.showInformationMessage(
        'No image is open. Right-click an image in the Explorer and choose "Explain this diagram", or pick a file.',
        'Choose Image…',
      );
      if (choice) target = await pickImage();
      if (!target) return;
    }
    let attachment;
    try {
      const captured = await captureFile(target);
      attachment = await ctx.attachments.add(captured.bytes, captured.name);
    } catch (err) {
      showUnreadable(ctx, target, err);
      return;
    }
    await ctx.chatView.reveal();
    await ctx.conversation.ask(EXPLAIN_PROMPT, [attachment]);
  };
}
