// The one place a UserError (src/protocol/remedy.ts) is shown as a notification, and the one place
// a remedy is run — from a notification's button or from the chat's inline error button (the chat
// webview draws the buttons from the same remedies; src/chat/chatHandlers.ts sends them here).
// Which error gets which remedy is decided in src/userError.ts.
import * as vscode from 'vscode';
import { MACOS_SCREEN_RECORDING_URL } from '../capture/errors';
import { type ContinuationKind, isContinuation, type Remedy, remedyLabel, type UserError } from '../protocol/remedy';
import { COMMANDS } from './ids';

/** Handlers for the remedies that go on with what failed; a continuation without one is not offered. */
export type Continuations = Partial<Record<ContinuationKind, () => unknown>>;

export interface ShowErrorOptions {
  /** 'info' for what is not a failure (a paused download). */
  severity?: 'error' | 'warning' | 'info';
  continuations?: Continuations;
  /** Where a remedy that cannot run here is reported. */
  log?: (message: string) => void;
}

interface RemedyItem extends vscode.MessageItem {
  remedy: Remedy;
}

/** The remedies a notification can offer here: every standalone one, continuations with a handler. */
export function offeredRemedies(error: UserError, continuations: Continuations = {}): Remedy[] {
  return error.remedies.filter((r) => !isContinuation(r) || continuations[r.kind] !== undefined);
}

/**
 * Shows `error` as a notification with a button per remedy and runs the one chosen (the button
 * is the remedy itself, never matched by its label). Resolves once that ran, or on dismissal.
 */
export async function showError(error: UserError, options: ShowErrorOptions = {}): Promise<void> {
  const items: RemedyItem[] = offeredRemedies(error, options.continuations).map((remedy) => ({ title: remedyLabel(remedy), remedy }));
  const message = `InternVL Lens: ${error.message}`;
  const { window } = vscode;
  const choice =
    options.severity === 'info'
      ? await window.showInformationMessage(message, ...items)
      : options.severity === 'warning'
        ? await window.showWarningMessage(message, ...items)
        : await window.showErrorMessage(message, ...items);
  if (choice) await runRemedy(choice.remedy, options);
}

/** Runs a remedy; a continuation runs only through its handler (a chat button cannot name one). */
export async function runRemedy(remedy: Remedy, options: Pick<ShowErrorOptions, 'continuations' | 'log'> = {}): Promise<void> {
  switch (remedy.kind) {
    case 'setApiKey':
    case 'showLog':
    case 'downloadModel':
    case 'useExistingModel':
    case 'newChat':
      // Each of these is the extension's command of the same name.
      await vscode.commands.executeCommand(COMMANDS[remedy.kind]);
      return;
    case 'openSetting':
      await vscode.commands.executeCommand('workbench.action.openSettings', remedy.setting);
      return;
    case 'openScreenRecordingSettings':
      await vscode.env.openExternal(vscode.Uri.parse(MACOS_SCREEN_RECORDING_URL));
      return;
    case 'retry':
    case 'resume':
    case 'deletePartialDownload':
    case 'chooseModelsFolder': {
      const handler = options.continuations?.[remedy.kind];
      if (handler) await handler();
      else options.log?.(`remedy ${remedy.kind} is not offered here; ignored`);
      return;
    }
  }
}
