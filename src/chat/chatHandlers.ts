// What each chat webview message does: the handler table src/chat/router.ts routes to. Thin: the
// conversation, the composer and the history store do the work; this relays and reports.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { exportRegions } from '../commands/grounding';
import { runRemedy, showError } from '../commands/showError';
import { isRefinable, presetPrompt, regionCaptionPrompt } from '../grounding';
import { IMAGE_EXTENSIONS, pixelCoordinates, referringBox } from '../images';
import type { PixelRect } from '../protocol/rect';
import { MAX_ATTACHMENT_BYTES, type HostMessage } from '../protocol/webview';
import type { AttachmentStore } from './attachments';
import type { Composer } from './composer';
import type { Conversation } from './conversation';
import type { HistoryStore } from './history';
import { regionImage } from './records';
import type { WebviewHandlers } from './router';
import { userErrorOf } from '../userError';
import { COMMANDS } from '../commands/ids';

export interface ChatServices {
  conversation: Conversation;
  composer: Composer;
  attachments: AttachmentStore;
  history: HistoryStore;
  log: (message: string) => void;
  /** Sends the history list again (after a change to it). */
  postHistory: () => Promise<void>;
}

export interface ChatHandlerServices<S> extends ChatServices {
  /** A webview is ready for messages: it gets everything it shows. */
  ready: (surface: S) => void;
  /** Sends one message to the webview that asked. */
  reply: (surface: S, msg: HostMessage) => void;
}

export function chatHandlers<S>(s: ChatHandlerServices<S>): WebviewHandlers<S> {
  const { conversation, composer } = s;
  return {
    ready: (_msg, surface) => s.ready(surface),
    ask: (msg) => {
      if (msg.preset) {
        const { question, prompt } = presetPrompt(msg.preset, msg.text);
        return conversation.ask(question, composer.take(), { prompt, refine: isRefinable(msg.preset) });
      } else if (msg.text.trim()) {
        return conversation.ask(msg.text, composer.take());
      }
      return undefined;
    },
    copyRegion: (msg) => copyRegion(s, msg.turnId, msg.index),
    askRegion: async (msg, surface) => {
      const text = await regionQuestion(s, msg.imageId, msg.rect);
      if (text) s.reply(surface, { type: 'compose', text });
    },
    copyText: async (msg) => {
      await vscode.env.clipboard.writeText(msg.text);
      vscode.window.setStatusBarMessage('InternVL Lens: copied', 2000);
    },
    exportAnnotated: (msg) => vscode.commands.executeCommand(COMMANDS.exportAnnotated, msg.turnId),
    exportRegions: async (msg) => {
      const turn = conversation.turns.find((t) => t.id === msg.turnId);
      if (!turn) return s.log(`exportRegions: no turn ${msg.turnId}`);
      await exportRegions(turn, msg.format, { log: s.log });
    },
    stop: () => conversation.stop(),
    regenerate: (msg) => conversation.redo(msg.turnId),
    editResend: (msg) => conversation.redo(msg.turnId, msg.text),
    newChat: () => conversation.clear(),
    // The remedy was validated on arrival (src/protocol/remedy.ts); continuations cannot run from here.
    remedy: (msg) => runRemedy(msg.remedy, { log: s.log }),
    pickImages: () => pickImages(s),
    attachBytes: (msg) => composer.attach(() => s.attachments.add(Buffer.from(msg.data, 'base64'), msg.name)),
    attachUris: (msg) => attachUris(s, msg.uris),
    removeAttachment: (msg) => composer.remove(msg.id),
    cropAttachment: (msg) => composer.crop(msg.id, msg.rect),
    setAttachmentTiles: (msg) => composer.setTiles(msg.id, msg.maxTiles),
    openConversation: (msg) => openConversation(s, msg.id),
    renameConversation: (msg) =>
      withHistory(s, async () => {
        if (msg.id === conversation.id) await conversation.rename(msg.title);
        else await s.history.rename(msg.id, msg.title);
      }),
    deleteConversation: (msg) =>
      withHistory(s, async () => {
        // Not saved again by the answer it may still be ending.
        if (msg.id === conversation.id) await conversation.clear({ discard: true });
        await s.history.delete(msg.id);
      }),
    clearHistory: () => clearHistory(s),
  };
}

/** Runs a history change, reports a failure, and sends the new list. */
async function withHistory(s: ChatServices, change: () => Promise<void>): Promise<void> {
  try {
    await change();
  } catch (err) {
    const error = userErrorOf(err);
    s.log(`history: ${error.message}`);
    void showError(error);
  }
  await s.postHistory();
}

/** Clear All (the history's button and the command): asks first. */
export async function clearHistory(s: ChatServices): Promise<void> {
  const choice = await vscode.window.showWarningMessage('Delete every saved InternVL Lens conversation and its images?', { modal: true }, 'Delete All');
  if (choice !== 'Delete All') return;
  await withHistory(s, async () => {
    await s.conversation.clear({ discard: true });
    await s.history.clear();
  });
}

async function openConversation(s: ChatServices, id: string): Promise<void> {
  if (id === s.conversation.id) return;
  const data = await s.history.load(id);
  if (!data) {
    void showError({ message: 'that conversation could not be read (see the log).', remedies: [{ kind: 'showLog' }] });
    await s.postHistory();
    return;
  }
  await s.conversation.restore(data);
}

async function pickImages(s: ChatServices): Promise<void> {
  const uris = await vscode.window.showOpenDialog({
    canSelectMany: true,
    openLabel: 'Attach',
    title: 'Attach images',
    filters: { Images: [...IMAGE_EXTENSIONS] },
  });
  if (uris?.length) await attachUris(s, uris.map((u) => u.toString()));
}

/** Files dropped or picked: stat first, regular files within the pasted-bytes cap only, read bounded. */
async function attachUris(s: ChatServices, uris: string[]): Promise<void> {
  for (const raw of uris) {
    let uri: vscode.Uri;
    try {
      uri = vscode.Uri.parse(raw, true);
    } catch {
      s.composer.refuse(`${raw} is not a file.`);
      continue;
    }
    const name = basename(uri.path);
    await s.composer.attach(async () => (uri.scheme === 'file' ? s.attachments.addFile(uri.fsPath) : s.attachments.add(await readWorkspaceFile(uri, name), name)));
  }
}

/**
 * A file from another file system (a remote workspace): its stat must say a file within the cap
 * before it is read (that API reads whole files only).
 */
async function readWorkspaceFile(uri: vscode.Uri, name: string): Promise<Uint8Array> {
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.type & vscode.FileType.Directory) throw new Error(`${name} is a folder, not a file.`);
  if (!(stat.type & vscode.FileType.File)) throw new Error(`${name} is not a regular file; only files can be attached.`);
  if (stat.size > MAX_ATTACHMENT_BYTES) throw new Error(`${name} is ${(stat.size / 1024 / 1024).toFixed(1)} MB; files over ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB are refused.`);
  return vscode.workspace.fs.readFile(uri);
}

/**
 * Ask about this region: InternVL's region-caption prompt with the rectangle as its referring box,
 * 0..1000 of the image as the model sees it (EXIF-upright, after any crop). The box refers to the
 * image a follow-up question is about, the conversation's latest: an older image goes into the
 * composer again, so it is the one sent with the question.
 */
async function regionQuestion(s: ChatServices, imageId: string, rect: PixelRect): Promise<string | null> {
  const image = s.conversation.turns.flatMap((t) => [...t.images, ...(t.target ? [t.target] : [])]).find((a) => a.id === imageId) ?? s.composer.images.find((p) => p.shown.id === imageId)?.shown;
  if (!image) {
    s.log(`askRegion: no image ${imageId} in the chat`);
    return null;
  }
  const box = referringBox(image.model.transform, rect);
  if (!box) {
    s.log(`askRegion: ${JSON.stringify(rect)} is outside the part of ${image.name} the model sees`);
    return null;
  }
  const waiting = s.composer.images.some((p) => p.shown.id === imageId);
  if (!waiting && s.conversation.latestImage()?.id !== imageId) await s.composer.attach(async () => image);
  return regionCaptionPrompt(box);
}

/** Writes a region's original-pixel coordinates to the clipboard. */
async function copyRegion(s: ChatServices, turnId: string, index: number): Promise<void> {
  const turn = s.conversation.turns.find((t) => t.id === turnId);
  const region = turn?.regions[index];
  if (!turn?.target || !region) {
    s.log(`copyRegion: no region ${index} in turn ${turnId}`);
    return;
  }
  // A clip turn's region is on its own frame (all frames share one size, but say which image it is).
  const on = regionImage(turn, index) ?? turn.target;
  const text = pixelCoordinates(on.model.transform, turn.refined?.[index] ?? region).join(', ');
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`InternVL Lens: copied ${region.label ? `"${region.label}" ` : ''}${text}`, 3000);
}
