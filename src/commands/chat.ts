// Chat-level actions: open, new chat, stop, show log; and notifications for failed turns.
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { showError } from './showError';
import { errorMessage } from '../util/errorMessage';

export const openChat = (ctx: LensContext) => () => ctx.chatView.reveal();
export const openChatInEditor = (ctx: LensContext) => () => ctx.chatView.openInEditor();
export const clearHistory = (ctx: LensContext) => () => ctx.chatView.clearHistory();
export const newChat = (ctx: LensContext) => () => ctx.conversation.clear();
export const stopGeneration = (ctx: LensContext) => () => ctx.conversation.stop();
export const showLog = (ctx: LensContext) => () => ctx.output.show(true);

/** A failed turn is shown inline and as a notification, both with the same remedies. */
export function notifyFailures(ctx: LensContext): vscode.Disposable {
  const seen = new Set<string>();
  return ctx.conversation.onEvent((e) => {
    if (e.type !== 'turn' || e.turn.status !== 'error' || !e.turn.error || seen.has(e.turn.id)) return;
    seen.add(e.turn.id);
    void showError(e.turn.error, { log: (m) => ctx.output.warn(m) });
  });
}

/** Keeps the `internvlLens.busy` context key true while an answer runs or waits, for the Stop button. */
export function trackBusy(ctx: LensContext): vscode.Disposable {
  let busy = false;
  return ctx.conversation.onEvent(() => {
    const now = ctx.conversation.turns.some((t) => t.status === 'queued' || t.status === 'streaming');
    if (now !== busy) {
      busy = now;
      void vscode.commands.executeCommand('setContext', 'internvlLens.busy', busy);
    }
  });
}

/**
 * At start-up: deletes saved conversations older than the retention setting, then shows the most
 * recent one again (a window reload loses nothing), unless a question was asked meanwhile.
 */
export function restoreHistory(ctx: LensContext): vscode.Disposable {
  const days = ctx.config.historyRetentionDays;
  const empty = ctx.conversation.id;
  void (async () => {
    try {
      const pruned = await ctx.history.prune(days, null);
      if (pruned > 0) ctx.output.info(`history: deleted ${pruned} conversation(s) unchanged for ${days} day(s)`);
      const latest = (await ctx.history.list())[0];
      const data = latest && (await ctx.history.load(latest.id));
      if (data && ctx.conversation.id === empty && ctx.conversation.turns.length === 0) await ctx.conversation.restore(data);
    } catch (err) {
      ctx.output.warn(`history: ${errorMessage(err)}`);
    }
  })();
  return { dispose: () => undefined };
}
