// Mermaid diagram source → PNG: the source is found in the editor (a selection, the fenced
// ```mermaid block under the cursor in Markdown, or a whole .mmd file) and drawn by mermaid in a
// webview panel (src/protocol/diagram.ts, webview/diagram/main.ts).
import * as vscode from 'vscode';
import { ImageError } from '../images';
import { DiagramWebviewMessage, MAX_MERMAID_SOURCE, type DiagramHostMessage } from '../protocol/diagram';
import { onValidMessage } from '../protocol/validate';
import { webviewHtml } from '../webviewHtml';
import { type Capture, captureName, checkCapturedImage } from './capture';
import { CaptureError } from './errors';

export const DIAGRAM_VIEW_TYPE = 'internvlLens.diagram';
const RENDER_TIMEOUT_MS = 30_000;

export interface RenderMermaidOptions {
  extensionUri: vscode.Uri;
  log: (message: string) => void;
  /** A name for the PNG, e.g. "architecture.md" → "architecture-mermaid-….png". */
  sourceName: string;
}

/** Draws Mermaid source to a PNG in a webview panel beside the editor, closed when done. */
export async function renderMermaid(source: string, options: RenderMermaidOptions): Promise<Capture> {
  if (source.length > MAX_MERMAID_SOURCE) throw new ImageError(`The Mermaid diagram is over ${MAX_MERMAID_SOURCE / 1000}k characters; it was not drawn.`);
  const panel = vscode.window.createWebviewPanel(
    DIAGRAM_VIEW_TYPE,
    'Mermaid diagram',
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(options.extensionUri, 'dist')] },
  );
  // mermaid styles its SVG with style attributes: inline styles are allowed here, inline scripts are not.
  panel.webview.html = webviewHtml(panel.webview, options.extensionUri, {
    viewType: DIAGRAM_VIEW_TYPE,
    title: 'Mermaid diagram',
    script: ['mermaid.min.js', 'diagram.js'],
    imgSources: ['data:'],
    styleSources: ["'unsafe-inline'"],
  });
  try {
    return await new Promise<Capture>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CaptureError(`The Mermaid diagram was not drawn within ${RENDER_TIMEOUT_MS / 1000} s.`, 'failed')), RENDER_TIMEOUT_MS);
      const done = () => clearTimeout(timer);
      panel.onDidDispose(() => {
        done();
        reject(new CaptureError('The Mermaid panel was closed before the diagram was drawn.', 'failed'));
      });
      onValidMessage(panel.webview, 'Mermaid panel', DiagramWebviewMessage, options.log, (msg) => {
        if (msg.type === 'ready') {
          void panel.webview.postMessage({ type: 'render', source } satisfies DiagramHostMessage);
        } else if (msg.type === 'error') {
          done();
          reject(new ImageError(`Mermaid could not draw the diagram: ${msg.message}`));
        } else {
          done();
          try {
            const bytes = Buffer.from(msg.png, 'base64');
            const name = captureName(`${options.sourceName.replace(/\.[^.]*$/, '')}-mermaid`);
            const info = checkCapturedImage(bytes, name);
            resolve({ bytes, name, width: info.width, height: info.height, scaleFactor: 1 });
          } catch (err) {
            reject(err);
          }
        }
      });
    });
  } finally {
    panel.dispose();
  }
}
