// Choose Inference Runtime…: which llama-server the local engine runs — the built-in CPU build,
// a GPU runtime of the pinned llama.cpp release (downloaded on request, with progress, resume and
// its digest checked), a llama-server on PATH, or internvlLens.llamaServerPath — with the one-line
// reason for this machine, as Download Model… gives one for the model. After the first model load
// on the CPU build of a machine with a GPU, the same offer comes once as a notification.
import * as vscode from 'vscode';
import type { LensContext } from '../context';
import { SECTION } from '../config';
import { DownloadError } from '../models/download';
import { runtimeDownloadError, userErrorOf } from '../userError';
import { showError } from './showError';
import { formatBytes, formatDuration } from '../models/units';
import { checkOnce, findOnPath, hostTarget, parseRuntimeChoice, RUNTIME_CHOICE_KEY, type RuntimeChoice } from '../engine/local/runtimes/choose';
import { probeGpus } from '../engine/local/runtimes/gpus';
import { installedRuntimes, installRuntime, type InstalledRuntime, planRuntime, removeRuntime, type RuntimePlan } from '../engine/local/runtimes/install';
import { recommendRuntime, type RuntimeRecommendation } from '../engine/local/runtimes/recommend';
import { gpuAssets, LLAMA_RELEASE, type RuntimeAsset } from '../engine/local/runtimes/release';
import { errorMessage } from '../util/errorMessage';

/** Set once the first-load offer was answered with "Don't Ask Again". */
const OFFER_DISMISSED_KEY = 'internvlLens.runtimeOfferDismissed';

/** The runtime chosen on this machine (global state: a runtime is per machine, not per workspace). */
export function runtimeChoice(ctx: LensContext): RuntimeChoice {
  return parseRuntimeChoice(ctx.extension.globalState.get(RUNTIME_CHOICE_KEY));
}

async function setChoice(ctx: LensContext, choice: RuntimeChoice, label: string): Promise<void> {
  await ctx.extension.globalState.update(RUNTIME_CHOICE_KEY, choice);
  ctx.output.info(`inference runtime: ${label}`);
  // The next question starts llama-server afresh, from the chosen runtime.
  if (ctx.engine.kind === 'local') await ctx.engine.unload();
}

function storagePath(ctx: LensContext): string {
  return ctx.extension.globalStorageUri.fsPath;
}

let machine: Promise<RuntimeRecommendation> | null = null;
function recommendation(ctx: LensContext): Promise<RuntimeRecommendation> {
  machine ??= probeGpus().then((m) => {
    ctx.output.info(`GPUs seen: ${m.gpus.map((g) => `${g.vendor} ${g.name}`).join('; ') || 'none'}${m.vulkanLoader === false ? ' (no Vulkan loader)' : ''}`);
    return recommendRuntime(hostTarget(), m);
  });
  return machine;
}

/** Asks GitHub what the runtime weighs, asks the user, downloads, checks, unpacks and tries it. */
async function downloadRuntime(ctx: LensContext, asset: RuntimeAsset, why: string | null): Promise<InstalledRuntime | undefined> {
  let plan: RuntimePlan;
  try {
    plan = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `InternVL Lens: asking GitHub about llama.cpp ${LLAMA_RELEASE.release}'s ${asset.label} build…` }, () =>
      planRuntime(asset, storagePath(ctx)),
    );
  } catch (err) {
    const error = userErrorOf(err);
    ctx.output.error(`runtime ${asset.id}: ${error.message}`);
    void showError(error);
    return undefined;
  }
  const digest = plan.files.every((f) => f.digestFrom === 'pinned') ? 'sha256 pinned by InternVL Lens' : "sha256 checked against GitHub's published digest";
  const answer = await vscode.window.showInformationMessage(
    `Download the ${asset.label} runtime (${formatBytes(plan.totalBytes)})?`,
    {
      modal: true,
      detail: `${why ? `${why}\n\n` : ''}llama.cpp ${LLAMA_RELEASE.release} (build ${plan.tag}) from github.com/${LLAMA_RELEASE.repo}: ${plan.files.map((f) => f.name).join(', ')}; ${digest}. It needs ${asset.needs}. It goes to ${plan.dir}.`,
    },
    'Download',
  );
  if (answer !== 'Download') return undefined;
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Downloading the ${asset.label} runtime`, cancellable: true }, async (progress, token) => {
      const cancel = new AbortController();
      token.onCancellationRequested(() => cancel.abort());
      let shown = 0;
      return installRuntime(plan, {
        signal: cancel.signal,
        requireDevice: asset.gpu,
        log: (m) => ctx.output.info(m),
        onProgress: (p) => {
          const percent = (100 * p.receivedBytes) / p.totalBytes;
          const message =
            p.phase === 'verifying'
              ? `checking ${p.file}…`
              : `${p.file} (${p.index}/${p.count}): ${formatBytes(p.receivedBytes)} of ${formatBytes(p.totalBytes)}` +
                (p.bytesPerSecond > 0 ? ` · ${formatBytes(p.bytesPerSecond)}/s · ${formatDuration(p.etaSeconds ?? Infinity)} left` : '');
          progress.report({ message, increment: Math.max(0, percent - shown) / p.count });
          shown = Math.max(shown, percent);
        },
      });
    });
  } catch (err) {
    ctx.output.error(`runtime ${asset.id}: ${errorMessage(err)}`);
    if (err instanceof DownloadError && err.code === 'cancelled') {
      void vscode.window.showInformationMessage(`InternVL Lens: the ${asset.label} runtime download is paused; choosing it again resumes it.`);
      return undefined;
    }
    let again: InstalledRuntime | undefined;
    await showError(runtimeDownloadError(err), { continuations: { retry: async () => (again = await downloadRuntime(ctx, asset, why)) } });
    return again;
  }
}

async function useDownloaded(ctx: LensContext, runtime: InstalledRuntime): Promise<void> {
  await setChoice(ctx, { kind: 'downloaded', dir: runtime.dir }, `${runtime.manifest.label} runtime in ${runtime.dir}`);
  const devices = runtime.manifest.devices.join('; ') || 'no GPU listed';
  void vscode.window.showInformationMessage(`InternVL Lens: the ${runtime.manifest.label} runtime is used from the next question (${devices}).`);
}

interface RuntimeItem extends vscode.QuickPickItem {
  run?: () => Promise<void>;
}

export function chooseRuntime(ctx: LensContext) {
  return async (): Promise<void> => {
    const [rec, installed, onPath] = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'InternVL Lens: checking this machine…' }, () =>
      Promise.all([recommendation(ctx), installedRuntimes(storagePath(ctx), hostTarget()), findOnPath()]),
    );
    const pathVersion = onPath ? await checkOnce(onPath).then((c) => c.version, (err: Error) => `does not run: ${err.message.slice(0, 80)}`) : null;
    const choice = runtimeChoice(ctx);
    const setting = ctx.config.llamaServerPath;
    const current = (is: boolean) => (is ? '$(check) ' : '');
    const items: RuntimeItem[] = [{ label: 'For this machine', kind: vscode.QuickPickItemKind.Separator }];
    const usesDownloaded = (r: InstalledRuntime) => choice.kind === 'downloaded' ? choice.dir === r.dir : choice.kind === 'auto' && installed[0] === r;
    items.push({
      label: `${current(!setting && (choice.kind === 'bundled' || (choice.kind === 'auto' && installed.length === 0)))}Built-in CPU build`,
      description: `llama.cpp ${LLAMA_RELEASE.release} · the kernels for this CPU (AVX2, AVX-512) picked at start`,
      detail: rec.asset ? undefined : rec.reason,
      run: () => setChoice(ctx, { kind: 'bundled' }, 'built-in CPU build'),
    });
    for (const asset of gpuAssets(hostTarget())) {
      const have = installed.find((r) => r.manifest.id === asset.id);
      const recommended = rec.asset?.id === asset.id;
      items.push({
        label: `${current(!setting && !!have && usesDownloaded(have))}${recommended ? '$(star-full) ' : ''}${asset.label}`,
        description: have ? `downloaded · ${have.manifest.devices.join('; ') || 'no GPU listed'}` : `download from GitHub · needs ${asset.needs}`,
        detail: recommended ? rec.reason : undefined,
        run: async () => {
          const runtime = have ?? (await downloadRuntime(ctx, asset, recommended ? rec.reason : null));
          if (runtime) await useDownloaded(ctx, runtime);
        },
      });
    }
    items.push({ label: 'Your own llama.cpp', kind: vscode.QuickPickItemKind.Separator });
    items.push({
      label: `${current(!setting && choice.kind === 'path')}llama-server on PATH`,
      description: onPath ? `${onPath} · ${pathVersion}` : 'none found (brew install llama.cpp, winget install llama.cpp)',
      run: async () => {
        if (!onPath) return void vscode.window.showInformationMessage('InternVL Lens: no llama-server is on PATH. Install llama.cpp (brew install llama.cpp, winget install llama.cpp, or your distribution\'s package), or set internvlLens.llamaServerPath.');
        await setChoice(ctx, { kind: 'path' }, `llama-server on PATH (${onPath})`);
      },
    });
    items.push({
      label: `${current(!!setting)}internvlLens.llamaServerPath`,
      description: setting ? `${setting} · wins over the choices above` : 'not set: a llama-server you built, e.g. with CUDA on Linux',
      run: async () => void (await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.llamaServerPath`)),
    });
    if (installed.length) {
      items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
      items.push({
        label: '$(trash) Remove Downloaded Runtimes',
        description: installed.map((r) => r.manifest.label).join(', '),
        run: async () => {
          // llama-server may be running from one of them.
          if (ctx.engine.kind === 'local') await ctx.engine.unload();
          for (const r of installed) await removeRuntime(r);
          await setChoice(ctx, { kind: 'auto' }, 'built-in CPU build (downloaded runtimes removed)');
        },
      });
    }
    const picked = await vscode.window.showQuickPick(items, {
      title: `Inference runtime (llama.cpp ${LLAMA_RELEASE.release})`,
      placeHolder: rec.reason,
      matchOnDescription: true,
      ignoreFocusOut: true,
    });
    await picked?.run?.();
  };
}

/**
 * Once a model has loaded on the built-in CPU build of a machine with a GPU a runtime would use,
 * offers that runtime (once per session; never again after "Don't Ask Again").
 */
export function offerRuntimeOnFirstLoad(ctx: LensContext): vscode.Disposable {
  let offered = false;
  const sub = ctx.engine.onDidChangeState((state) => {
    if (offered || state.kind !== 'ready' || ctx.engine.kind !== 'local') return;
    offered = true;
    void (async () => {
      if (ctx.extension.globalState.get<boolean>(OFFER_DISMISSED_KEY) || ctx.config.llamaServerPath || runtimeChoice(ctx).kind !== 'auto') return;
      const rec = await recommendation(ctx);
      if (!rec.asset || (await installedRuntimes(storagePath(ctx), hostTarget())).length > 0) return;
      const answer = await vscode.window.showInformationMessage(`InternVL Lens: ${rec.reason.replace(/\.$/, '')}. Download it?`, `Download ${rec.asset.label} Runtime…`, 'Not Now', "Don't Ask Again");
      if (answer === "Don't Ask Again") await ctx.extension.globalState.update(OFFER_DISMISSED_KEY, true);
      else if (answer?.startsWith('Download')) {
        const runtime = await downloadRuntime(ctx, rec.asset, rec.reason);
        if (runtime) await useDownloaded(ctx, runtime);
      }
    })().catch((err: unknown) => ctx.output.warn(`runtime offer: ${errorMessage(err)}`));
  });
  return { dispose: () => sub.dispose() };
}
