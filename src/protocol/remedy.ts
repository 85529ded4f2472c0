// What fixes an error, as data: one union for every notification, every chat error button and the
// stored conversation. The webview sends a remedy back as it was given (validated on arrival: a
// setting is one of ours, nothing else is free text), so no id is ever parsed from a string.
// Labels live here too, so a button reads the same wherever it is shown.
// Shown by src/commands/showError.ts (notifications, and runRemedy for chat buttons); which error
// gets which remedy: src/userError.ts.
import * as v from 'valibot';

/** A setting of this extension (`internvlLens.remote.endpoint`): never another extension's or the workbench's. */
const OwnSetting = v.pipe(v.string(), v.maxLength(100), v.regex(/^internvlLens(\.[A-Za-z]+)+$/, 'a setting of internvlLens'));

export const Remedy = v.variant('kind', [
  /** Run "Set API Key" (the remote server refused the key, or needs one). */
  v.object({ kind: v.literal('setApiKey') }),
  /** Open the Settings editor at one setting. */
  v.object({ kind: v.literal('openSetting'), setting: OwnSetting }),
  v.object({ kind: v.literal('showLog') }),
  /** Choose a model: Download Model… or Use Existing Model Files…. */
  v.object({ kind: v.literal('downloadModel') }),
  v.object({ kind: v.literal('useExistingModel') }),
  /** Start a new chat (the context is full). */
  v.object({ kind: v.literal('newChat') }),
  /** macOS: System Settings → Privacy & Security → Screen Recording. */
  v.object({ kind: v.literal('openScreenRecordingSettings') }),
  // Continuations: they go on with what failed, so only the code that shows the error can run
  // them (it passes a handler to showError); anywhere else they are not offered.
  v.object({ kind: v.literal('retry') }),
  /** A paused download: go on from what is on disk. */
  v.object({ kind: v.literal('resume') }),
  v.object({ kind: v.literal('deletePartialDownload') }),
  /** Not enough space: pick another models folder, then download again. */
  v.object({ kind: v.literal('chooseModelsFolder') }),
]);
export type Remedy = v.InferOutput<typeof Remedy>;
export type RemedyKind = Remedy['kind'];

/** Remedies that continue the failed action: run only by a handler the showing code passes. */
export const CONTINUATION_KINDS = ['retry', 'resume', 'deletePartialDownload', 'chooseModelsFolder'] as const satisfies readonly RemedyKind[];
export type ContinuationKind = (typeof CONTINUATION_KINDS)[number];

export function isContinuation(remedy: Remedy): remedy is Extract<Remedy, { kind: ContinuationKind }> {
  return (CONTINUATION_KINDS as readonly string[]).includes(remedy.kind);
}

const LABELS: Record<RemedyKind, string> = {
  setApiKey: 'Set API Key',
  openSetting: 'Open Settings',
  showLog: 'Show Log',
  downloadModel: 'Download Model…',
  useExistingModel: 'Use Existing Model Files…',
  newChat: 'New Chat',
  openScreenRecordingSettings: 'Open Screen Recording Settings',
  retry: 'Retry',
  resume: 'Resume',
  deletePartialDownload: 'Delete Partial Download',
  chooseModelsFolder: 'Choose Another Folder…',
};

/** The button's words for a remedy (notifications and the chat alike). */
export function remedyLabel(remedy: Remedy): string {
  return LABELS[remedy.kind];
}

/**
 * An error as the user sees it: what happened and what fixes it. The same value is shown as a
 * notification, inline in the chat, and stored with the turn (so a reload offers the same fix).
 */
export const UserError = v.object({
  message: v.string(),
  /** The failing module's code (EngineError, CaptureError, DownloadError), for logs and tests. */
  code: v.optional(v.pipe(v.string(), v.maxLength(100))),
  remedies: v.pipe(v.array(Remedy), v.maxLength(8)),
});
export type UserError = v.InferOutput<typeof UserError>;

/**
 * An error as a language model is told it (a tool call that failed): the message, and what the
 * user can do in VS Code to fix it. A model can only pass this on, so it says it in words.
 */
export function userErrorSentence(error: UserError): string {
  const message = /[.!?…]$/.test(error.message.trim()) ? error.message.trim() : `${error.message.trim()}.`;
  const fixes = error.remedies
    .filter((r) => r.kind !== 'showLog' && !isContinuation(r))
    .map((r) => (r.kind === 'openSetting' ? `the setting ${r.setting}` : `"${remedyLabel(r)}"`));
  if (fixes.length > 0) return `${message} The user can fix this with InternVL Lens's ${fixes.join(' or ')}.`;
  return error.remedies.some((r) => r.kind === 'showLog') ? `${message} The InternVL Lens log (Output panel) says more.` : message;
}
