// Capture Region: shows a grabbed screen full-size in an editor panel where the user drags a
// rectangle; resolves with that rectangle (device pixels), or undefined when cancelled.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { onValidMessage } from '../protocol/validate';
import { type RegionHostMessage, RegionWebviewMessage } from '../protocol/region';
import type { PixelRect } from '../protocol/rect';
import { webviewHtml } from '../webviewHtml';
import { clampSelection, encodeShot, type ScreenShot } from './screen';
import { errorMessage } from '../util/errorMessage';

export const REGION_VIEW_TYPE = 'internvlLens.region';

export interface PickRegionOptions {
  extensionUri: vscode.Uri;
  /** Folder for the full screenshot while the panel shows it; the file is deleted afterwards. */
  scratchDir: vscode.Uri;
  log: (message: string) => void;
}

/** The panel open now: a second Capture Region replaces it (the first one counts as cancelled). */
let open: vscode.WebviewPanel | undefined;

export async function pickRegion(shot: ScreenShot, options: PickRegionOptions): Promise<PixelRect | undefined> {
  open?.dispose();
  const full = await encodeShot(shot, 'region-source');
  await mkdir(options.scratchDir.fsPath, { recursive: true });
  const file = vscode.Uri.joinPath(options.scratchDir, `region-${randomBytes(8).toString('hex')}.png`);
  await writeFile(file.fsPath, full.bytes);

  const panel = vscode.window.createWebviewPanel(
    REGION_VIEW_TYPE,
    'Capture Region',
    { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
    {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(options.extensionUri, 'dist'), options.scratchDir],
    },
  );
  open = panel;
  panel.webview.html = webviewHtml(panel.webview, options.extensionUri, { viewType: REGION_VIEW_TYPE, title: 'Capture Region', script: 'region.js', style: 'region.css' });

  return new Promise<PixelRect | undefined>((resolve) => {
    let result: PixelRect | undefined;
    const post = (msg: RegionHostMessage) => void panel.webview.postMessage(msg);
    const sub = onValidMessage(panel.webview, 'region panel', RegionWebviewMessage, options.log, (msg) => {
      if (msg.type === 'ready') {
        post({ type: 'show', src: panel.webview.asWebviewUri(file).toString(), width: full.width, height: full.height, scaleFactor: shot.monitor.scaleFactor });
      } else if (msg.type === 'confirm') {
        try {
          result = clampSelection(msg.rect, full.width, full.height);
        } catch (err) {
          options.log(`region panel: ${errorMessage(err)}`);
          return;
        }
        panel.dispose();
      } else {
        panel.dispose();
      }
    });
    panel.onDidDispose(() => {
      if (open === panel) open = undefined;
      sub.dispose();
      void rm(file.fsPath, { force: true });
      resolve(result);
    });
  });
}
