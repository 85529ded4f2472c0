// "Ask About Images in Folder…": one question (or one thing to find) over every image of a folder,
// on the engine's parallel slots, with a cancellable progress notification; the results go to a
// JSONL file (one line per image, as `internvl-lens batch` writes them), opened when done.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { batchFiles, runImages, type BatchLine } from '../cli/batch';
import type { LensContext } from '../context';
import { userErrorOf } from '../userError';
import { showError } from './showError';
import { errorMessage } from '../util/errorMessage';


/** Requests at once: the local server's slots. */
const CONCURRENCY = 2;

export function askAboutFolder(ctx: LensContext) {
  return async (folder?: vscode.Uri): Promise<void> => {
    const dir =
      folder instanceof vscode.Uri
        ? folder
        : (await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, canSelectMany: false, openLabel: 'Ask About Its Images', title: 'Choose a folder of images' }))?.[0];
    if (!dir) return;
    let files: string[];
    try {
      files = await batchFiles([dir.fsPath]);
    } catch (err) {
      void vscode.window.showErrorMessage(`InternVL Lens: ${errorMessage(err)}`);
      return;
    }
    const mode = await vscode.window.showQuickPick(
      [
        { label: 'Ask a question about each image', command: 'ask' as const },
        { label: 'Locate something on each image', detail: 'Regions in each image\'s own pixels', command: 'ground' as const },
      ],
      { title: `${files.length} image${files.length === 1 ? '' : 's'} in ${vscode.workspace.asRelativePath(dir)}` },
    );
    if (!mode) return;
    const text = await vscode.window.showInputBox({
      title: mode.command === 'ask' ? 'The question for every image' : 'What to find on every image',
      placeHolder: mode.command === 'ask' ? 'e.g. What error does this dialog show?' : 'e.g. the Save button',
      ignoreFocusOut: true,
    });
    if (!text?.trim()) return;
    const out = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(join(dir.fsPath, 'internvl-lens-results.jsonl')), filters: { 'JSON Lines': ['jsonl'] }, title: 'Where to write the results' });
    if (!out) return;
    const config = ctx.config;
    // 'w': the user chose this file in a save dialog, which asked before replacing one.
    const handle = await open(out.fsPath, 'w');
    let failed = 0;
    try {
      const summary = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `InternVL Lens: ${files.length} images`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let done = 0;
          return runImages({
            engine: ctx.engine,
            files,
            command: mode.command,
            text,
            maxTiles: config.maxTiles,
            maxTokens: config.maxTokens,
            concurrency: CONCURRENCY,
            signal: abort.signal,
            onLine: async (line: BatchLine) => {
              await handle.write(`${JSON.stringify(line)}\n`);
              done++;
              if ('error' in line) {
                failed++;
                ctx.output.warn(`batch: ${line.image.path}: ${line.error.message}`);
              }
              progress.report({ increment: 100 / files.length, message: `${done} of ${files.length}${failed ? ` (${failed} failed)` : ''}` });
            },
          });
        },
      );
      void vscode.window.showInformationMessage(`InternVL Lens: ${summary.answered} answered${summary.failed ? `, ${summary.failed} failed (see the file)` : ''} in ${(summary.ms / 1000).toFixed(0)} s.`);
    } catch (err) {
      // The engine could not answer (no model, a crash it gave up on): the fixes come with the message.
      void showError(userErrorOf(err, 'The run stopped'), { log: (m) => ctx.output.warn(m) });
    } finally {
      await handle.close();
    }
    await vscode.window.showTextDocument(out, { preview: false });
  };
}
