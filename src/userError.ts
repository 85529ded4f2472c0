// Which error gets which fix: an error from the engine, a capture, an image or a download → a
// UserError (src/protocol/remedy.ts), its message and the remedies offered with it. The one home of
// that mapping; src/commands/showError.ts shows the result. No vscode import (unit-tested).
import { CaptureError } from './capture/errors';
import { Settings } from './config';
import { type EngineErrorCode, EngineError } from './engine/errors';
import { ImageError } from './images/probe';
import { unreachableAdvice } from './models/catalogue';
import { DownloadError } from './models/download';
import type { Remedy, UserError } from './protocol/remedy';
import { errorMessage } from './util/errorMessage';

const SHOW_LOG: Remedy = { kind: 'showLog' };
const CHOOSE_MODEL: Remedy[] = [{ kind: 'downloadModel' }, { kind: 'useExistingModel' }];

function openSetting(setting: string | undefined): Remedy[] {
  return setting ? [{ kind: 'openSetting', setting }] : [];
}

/** The remedies given, or Show Log when there are none (the log says more). */
function orShowLog(remedies: Remedy[]): Remedy[] {
  return remedies.length > 0 ? remedies : [SHOW_LOG];
}

/** The fixes for an engine error: its code says which kind, its setting (when it has one) where. */
export function engineRemedies(code: EngineErrorCode, setting?: string): Remedy[] {
  const modelFiles = setting === Settings.modelPath || setting === Settings.mmprojPath;
  switch (code) {
    case 'remote-unauthorized':
      return [{ kind: 'setApiKey' }];
    case 'model-not-configured':
      return [...CHOOSE_MODEL, ...openSetting(setting ?? Settings.modelPath)];
    case 'model-file-missing':
    case 'model-file-invalid':
    case 'load-failed':
    case 'no-vision':
      // Local model files (modelPath, mmprojPath): other files are the way out; remote: the model setting.
      return modelFiles ? [...CHOOSE_MODEL, ...openSetting(setting)] : orShowLog(openSetting(setting));
    case 'context-overflow':
      return [{ kind: 'newChat' }, ...openSetting(setting)];
    case 'worker-failed-to-start':
    case 'remote-not-configured':
    case 'remote-unreachable':
    case 'remote-tls':
    case 'remote-timeout':
    case 'remote-model-not-found':
    case 'worker-crashed':
    case 'unloaded':
    case 'completion-failed':
    case 'bad-request':
    case 'protocol':
    case 'remote-failed':
      return orShowLog(openSetting(setting));
  }
}

/**
 * Any error → what the user is shown. Errors of ours carry their code and fixes; anything else
 * says what failed (`unknownPrefix`, e.g. "Capture failed") and offers the log.
 */
export function userErrorOf(err: unknown, unknownPrefix?: string): UserError {
  if (err instanceof EngineError) return { message: err.message, code: err.code, remedies: engineRemedies(err.code, err.setting) };
  if (err instanceof CaptureError) return { message: err.message, code: err.problem, remedies: err.remedies };
  if (err instanceof ImageError) return { message: err.message, code: 'image', remedies: [] };
  const message = errorMessage(err);
  return { message: unknownPrefix ? `${unknownPrefix}: ${message}` : message, remedies: [SHOW_LOG] };
}

/** A failed model download (Download Model…): each case offers the way forward; what was fetched stays for a retry. */
export function modelDownloadError(err: unknown): UserError {
  if (!(err instanceof DownloadError)) return userErrorOf(err);
  const error = (remedies: Remedy[], message = err.message): UserError => ({ message, code: err.code, remedies });
  switch (err.code) {
    case 'cancelled':
      return error([{ kind: 'resume' }, { kind: 'deletePartialDownload' }]);
    case 'no-space':
      return error([{ kind: 'chooseModelsFolder' }, { kind: 'retry' }]);
    case 'not-found':
    case 'forbidden':
      return error([{ kind: 'useExistingModel' }, SHOW_LOG]);
    case 'network':
      return error([{ kind: 'retry' }, { kind: 'useExistingModel' }, SHOW_LOG], `${err.message} ${unreachableAdvice()}`);
    case 'server':
    case 'size-mismatch':
    case 'checksum-mismatch':
    case 'io':
      // Trying again resumes (or starts a deleted file over).
      return error([{ kind: 'retry' }, SHOW_LOG]);
  }
}

/** A failed runtime download (Choose Inference Runtime…): Retry when trying again may help. */
export function runtimeDownloadError(err: unknown): UserError {
  if (!(err instanceof DownloadError)) return userErrorOf(err);
  if (err.code === 'cancelled') return { message: err.message, code: err.code, remedies: [] };
  return { message: err.message, code: err.code, remedies: [...(err.retryable ? [{ kind: 'retry' } as const] : []), SHOW_LOG] };
}
