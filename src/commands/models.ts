// Getting a model: Download Model… (a catalogue build recommended for this machine, downloaded
// with progress, cancel and resume), Use Existing Model Files… (found on disk or picked, checked
// by the engine's pre-flight checks), and Try on the Sample Image for the walkthrough.
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { setInWorkspace, Settings, writeSetting } from '../config';
import { preflightModelFiles } from '../engine/local/preflight';
import { CATALOGUE, type CatalogueEntry, DEFAULT_ENTRY_ID, catalogueEntry, downloadBaseUrl, familyFolder, mmprojFor, type Mmproj } from '../models/catalogue';
import { discardPartial, DownloadError } from '../models/download';
import { findModelsOnDisk, type FoundModel, modelSearchRoots } from '../models/discover';
import { queryHardware } from '../models/hardware';
import { installModel, installPaths, installState } from '../models/install';
import { fitOf, recommendModel } from '../models/recommend';
import { formatBytes, formatDuration } from '../models/units';
import { captureFile } from '../capture/file';
import { presetPrompt } from '../grounding/prompts';
import { modelDownloadError, userErrorOf } from '../userError';
import { errorMessage } from '../util/errorMessage';
import { COMMANDS } from './ids';
import { showError } from './showError';

/** The image the walkthrough's last step asks about. */
export const SAMPLE_IMAGE = ['media', 'sample-gui.png'] as const;
const SAMPLE_TARGET = 'the Save button';

function modelsDirectory(ctx: LensContext): string {
  return ctx.config.modelsDirectory || join(ctx.extension.globalStorageUri.fsPath, 'models');
}

/** Points the settings at the files (user settings: models are per machine, not per workspace). */
async function configure(modelPath: string, mmprojPath: string): Promise<void> {
  await writeSetting(vscode.workspace, 'modelPath', modelPath);
  await writeSetting(vscode.workspace, 'mmprojPath', mmprojPath);
  if (setInWorkspace(vscode.workspace, 'modelPath')) {
    void vscode.window.showWarningMessage(`InternVL Lens: this workspace sets its own ${Settings.modelPath}, which wins over the model just set up.`, 'Open Workspace Settings').then((c) => {
      if (c) void vscode.commands.executeCommand('workbench.action.openWorkspaceSettings', Settings.modelPath);
    });
  }
}

/**
 * Walkthrough progress as context keys (the steps' `onContext:` completion events): a command run
 * from inside the extension never reaches the workbench, so `onCommand:` events would not fire
 * for it, and they fire when a picker opens rather than when a step is done.
 */
export const WALKTHROUGH_CONTEXT = {
  /** A build or existing files were picked. */
  modelChosen: 'internvlLens.walkthrough.modelChosen',
  /** The sample image got its answer. */
  sampleTried: 'internvlLens.walkthrough.sampleTried',
} as const;

function markWalkthrough(key: (typeof WALKTHROUGH_CONTEXT)[keyof typeof WALKTHROUGH_CONTEXT]): void {
  void vscode.commands.executeCommand('setContext', key, true);
}

/** Loads the configured model now, then offers the next step; the toast names the model, not its file. */
async function loadAndOffer(ctx: LensContext, label: string): Promise<void> {
  try {
    const loaded = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `InternVL Lens: loading ${label}…` }, () => ctx.engine.load());
    if (loaded.modelName) label = loaded.modelName;
  } catch (err) {
    const error = userErrorOf(err);
    ctx.output.error(`load after setup: ${error.message}`);
    await showError(error);
    return;
  }
  const choice = await vscode.window.showInformationMessage(`InternVL Lens: ${label} is ready.`, 'Try on the Sample Image', 'Open Chat');
  if (choice === 'Try on the Sample Image') await vscode.commands.executeCommand(COMMANDS.trySampleImage);
  else if (choice === 'Open Chat') await ctx.chatView.reveal();
}

interface BuildItem extends vscode.QuickPickItem {
  entry?: CatalogueEntry;
  action?: 'existing';
}

/** The catalogue as a quick pick, the recommended build first with the reason in one line. */
async function pickBuild(ctx: LensContext): Promise<CatalogueEntry | 'existing' | undefined> {
  const hardware = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'InternVL Lens: checking this machine…' }, () =>
    queryHardware((level, m) => ctx.output[level](m)),
  );
  const contextSize = ctx.config.contextSize;
  const recommended = recommendModel(hardware, contextSize);
  const directory = modelsDirectory(ctx);
  const states = new Map(await Promise.all(CATALOGUE.map(async (e) => [e.id, await installState(e, directory)] as const)));
  const item = (entry: CatalogueEntry, star = false): BuildItem => {
    const fit = fitOf(entry, hardware, contextSize);
    const state = states.get(entry.id)!;
    const where = fit.where === 'gpu' ? 'fits the GPU' : fit.where === 'cpu' ? 'runs on the CPU' : 'too large for this machine';
    const have =
      state.missingBytes === 0
        ? '$(check) downloaded'
        : state.missingBytes < state.totalBytes
          ? `$(debug-pause) ${formatBytes(state.totalBytes - state.missingBytes)} of ${formatBytes(state.totalBytes)} downloaded: resumes`
          : undefined;
    return {
      label: `${star ? '$(star-full) ' : ''}${entry.family.name} ${entry.quant}`,
      description: `${formatBytes(entry.bytes + mmprojFor(entry)!.bytes)} with mmproj · ${where}${entry.id === DEFAULT_ENTRY_ID ? ' · default' : ''}${star ? ' · recommended' : ''}`,
      detail: star ? [recommended.reason, have].filter(Boolean).join(' — ') : have,
      entry,
    };
  };
  const items: BuildItem[] = [{ label: 'Recommended for this machine', kind: vscode.QuickPickItemKind.Separator }, item(recommended.entry, true)];
  for (const family of new Set(CATALOGUE.map((e) => e.family))) {
    items.push({ label: `${family.name} (${family.repo})`, kind: vscode.QuickPickItemKind.Separator });
    for (const e of CATALOGUE.filter((c) => c.family === family && c !== recommended.entry)) items.push(item(e));
  }
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(folder-opened) Use Existing Model Files…', action: 'existing' });
  const picked = await vscode.window.showQuickPick(items, {
    title: `Download an InternVL3 model${hardware.note ? ` (${hardware.note})` : ''}`,
    placeHolder: `Files go to ${directory} (${Settings.modelsDirectory})`,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.action ?? picked?.entry;
}

export function downloadModel(ctx: LensContext) {
  /** `{ id, mmproj }` (a catalogue id and an mmproj file name, e.g. mmproj-F32.gguf) skips the picker. */
  const run = async (args?: { id?: string; mmproj?: string }): Promise<void> => {
    const chosen = args?.id ? catalogueEntry(args.id) : await pickBuild(ctx);
    if (chosen === 'existing') return void (await vscode.commands.executeCommand(COMMANDS.useExistingModel));
    if (!chosen) return;
    const entry = chosen;
    markWalkthrough(WALKTHROUGH_CONTEXT.modelChosen);
    const mmproj = mmprojFor(entry, args?.mmproj);
    if (!mmproj) return showError({ message: `${entry.family.name} has no vision projector named ${args?.mmproj}; it has ${entry.family.mmproj.map((m) => m.file).join(', ')}.`, remedies: [] });
    const label = `${entry.family.name} ${entry.quant}`;
    const directory = modelsDirectory(ctx);
    // Two downloads of one file would write the same partial file.
    if (downloading.has(entry.id)) return void vscode.window.showInformationMessage(`InternVL Lens: ${label} is already downloading.`);
    downloading.add(entry.id);
    ctx.output.info(`downloading ${label} into ${directory}`);
    try {
      const installed = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading ${label} (${formatBytes(entry.bytes + mmproj.bytes)} with its vision projector)`, cancellable: true },
        async (progress, token) => {
          const cancel = new AbortController();
          token.onCancellationRequested(() => cancel.abort());
          let shown = 0;
          return installModel({
            entry,
            mmproj,
            directory,
            baseUrl: downloadBaseUrl(),
            signal: cancel.signal,
            log: (m) => ctx.output.info(m),
            onRetry: (r) => progress.report({ message: `cannot reach ${new URL(downloadBaseUrl()).host} (${r.reason}); try ${r.attempt + 1} of ${r.of + 1} in ${Math.round(r.delayMs / 1000)} s…` }),
            onProgress: (p) => {
              const percent = (100 * p.overallReceived) / p.overallTotal;
              const message =
                p.phase === 'verifying'
                  ? `checking ${p.file} (${Math.round((100 * p.receivedBytes) / p.totalBytes)} %)…`
                  : `${p.file} (${p.index}/${p.count}): ${formatBytes(p.overallReceived)} of ${formatBytes(p.overallTotal)}` +
                    (p.bytesPerSecond > 0 ? ` · ${formatBytes(p.bytesPerSecond)}/s · ${formatDuration(p.etaSeconds ?? Infinity)} left` : '');
              progress.report({ message, increment: Math.max(0, percent - shown) });
              shown = Math.max(shown, percent);
            },
          });
        },
      );
      ctx.output.info(`installed ${installed.modelPath} and ${installed.mmprojPath} (${installed.fetchedBytes} bytes fetched)`);
      await configure(installed.modelPath, installed.mmprojPath);
      await loadAndOffer(ctx, label);
    } catch (err) {
      downloading.delete(entry.id);
      await downloadFailed(ctx, entry, mmproj, err, () => run({ id: entry.id, mmproj: mmproj.file }));
    } finally {
      downloading.delete(entry.id);
    }
  };
  return run;
}

/** Catalogue ids being downloaded now. */
const downloading = new Set<string>();

/** Each failure says what happened and offers the way forward (src/userError.ts); what was fetched stays for a retry. */
async function downloadFailed(ctx: LensContext, entry: CatalogueEntry, mmproj: Mmproj, err: unknown, retry: () => Promise<void>): Promise<void> {
  const error = modelDownloadError(err);
  ctx.output.error(`download ${entry.id}: ${error.message}`);
  if (err instanceof DownloadError && err.code === 'cancelled') {
    const state = await installState(entry, modelsDirectory(ctx), mmproj);
    const folder = join(modelsDirectory(ctx), familyFolder(entry.family));
    const message = `download paused; ${formatBytes(state.totalBytes - state.missingBytes)} of ${formatBytes(state.totalBytes)} is kept in ${folder}. Download Model… resumes it.`;
    return showError(
      { ...error, message },
      {
        severity: 'info',
        continuations: {
          resume: retry,
          deletePartialDownload: async () => {
            const paths = installPaths(entry, modelsDirectory(ctx), mmproj);
            await discardPartial(paths.modelPath);
            await discardPartial(paths.mmprojPath);
          },
        },
      },
    );
  }
  await showError(error, {
    continuations: {
      retry,
      chooseModelsFolder: async () => {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Store Models Here', title: 'Choose a folder for InternVL3 models' });
        if (!picked?.[0]) return;
        await writeSetting(vscode.workspace, 'modelsDirectory', picked[0].fsPath);
        await retry();
      },
    },
  });
}

interface FoundItem extends vscode.QuickPickItem {
  found?: FoundModel;
  browse?: boolean;
}

const GGUF_FILTER = { 'GGUF model': ['gguf'] };

async function pickFile(title: string, near?: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: GGUF_FILTER,
    title,
    openLabel: 'Use This File',
    ...(near ? { defaultUri: vscode.Uri.file(near) } : {}),
  });
  return picked?.[0]?.fsPath;
}

/** Picks the LLM, then its mmproj (found next to it when it is there). */
async function browseForFiles(): Promise<{ modelPath: string; mmprojPath: string } | undefined> {
  const modelPath = await pickFile('Choose the InternVL3 model file (the LLM GGUF, e.g. InternVL3-14B-Instruct-Q4_K_M.gguf)');
  if (!modelPath) return undefined;
  const beside = (await findModelsOnDisk([{ dir: dirname(modelPath), source: 'picked' }], { maxDepth: 0 })).find((f) => f.modelPath === modelPath);
  if (beside?.mmprojPath) return { modelPath, mmprojPath: beside.mmprojPath };
  const mmprojPath = await pickFile(`Choose the vision projector (mmproj GGUF) for ${basename(modelPath)}`, dirname(modelPath));
  if (mmprojPath) return { modelPath, mmprojPath };
  const choice = await vscode.window.showWarningMessage(
    `Without its mmproj file, ${basename(modelPath)} cannot see images: InternVL Lens can only chat in text with it.`,
    { modal: true },
    'Use for Text Only',
  );
  return choice ? { modelPath, mmprojPath: '' } : undefined;
}

export function useExistingModel(ctx: LensContext) {
  const run = async (): Promise<void> => {
    const roots = modelSearchRoots(process.env, homedir(), process.platform, modelsDirectory(ctx));
    const found = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'InternVL Lens: looking for models on this machine…' }, () =>
      findModelsOnDisk(roots).catch((err: unknown) => {
        ctx.output.warn(`looking for models: ${errorMessage(err)}`);
        return [];
      }),
    );
    const items: FoundItem[] = found.map((f) => ({
      label: `${f.internvl ? '$(eye) ' : ''}${f.name}`,
      description: `${f.source} · ${formatBytes(f.bytes)}${f.mmprojPath ? '' : ' · no mmproj beside it'}`,
      detail: f.mmprojPath ? `${f.modelPath} + ${basename(f.mmprojPath)}` : `${f.modelPath} — text only unless you pick its mmproj`,
      found: f,
    }));
    items.push({ label: '$(folder-opened) Browse for GGUF Files…', browse: true, detail: found.length ? undefined : `Nothing found in ${roots.map((r) => r.dir).join(', ')}` });
    const picked = await vscode.window.showQuickPick(items, { title: 'Use existing InternVL3 model files', placeHolder: 'Models found on this machine', matchOnDetail: true, ignoreFocusOut: true });
    if (!picked) return;
    let files: { modelPath: string; mmprojPath: string } | undefined;
    if (picked.found?.mmprojPath) files = { modelPath: picked.found.modelPath, mmprojPath: picked.found.mmprojPath };
    else if (picked.found) {
      const mmprojPath = await pickFile(`Choose the vision projector (mmproj GGUF) for ${basename(picked.found.modelPath)}`, dirname(picked.found.modelPath));
      files = { modelPath: picked.found.modelPath, mmprojPath: mmprojPath ?? '' };
    } else files = await browseForFiles();
    if (!files) return;
    // The engine's own checks, before anything native sees the files.
    let name: string;
    try {
      name = (await preflightModelFiles(files)).modelName;
    } catch (err) {
      const error = userErrorOf(err);
      ctx.output.warn(`use existing files: ${error.message}`);
      // The files were only picked, not set: choosing again is the fix, not their setting.
      return showError({ ...error, remedies: [{ kind: 'retry' }, { kind: 'downloadModel' }] }, { continuations: { retry: run } });
    }
    markWalkthrough(WALKTHROUGH_CONTEXT.modelChosen);
    await configure(files.modelPath, files.mmprojPath);
    await loadAndOffer(ctx, name);
  };
  return run;
}

/** The walkthrough's last step: ask where the Save button is on the bundled screenshot. */
export function trySampleImage(ctx: LensContext) {
  return async (): Promise<void> => {
    if (!ctx.config.modelPath) {
      return showError({ message: 'set up a model first.', remedies: [{ kind: 'downloadModel' }, { kind: 'useExistingModel' }] }, { severity: 'info' });
    }
    const uri = vscode.Uri.joinPath(ctx.extension.extensionUri, ...SAMPLE_IMAGE);
    const captured = await captureFile(uri);
    const attachment = await ctx.attachments.add(captured.bytes, captured.name);
    const { question, prompt } = presetPrompt('locate', SAMPLE_TARGET);
    // Its own conversation: the sample does not join (and re-process) whatever was being discussed.
    if (ctx.conversation.turns.length > 0) await vscode.commands.executeCommand(COMMANDS.newChat);
    await ctx.chatView.reveal();
    const turn = await ctx.conversation.ask(question, [attachment], { prompt });
    if (turn.status === 'done') markWalkthrough(WALKTHROUGH_CONTEXT.sampleTried);
  };
}
