// The page every InternVL Lens webview starts from: a strict CSP (scripts only with this page's
// nonce, every other resource only from the extension's own webview resources), one stylesheet
// and one script bundle from dist/.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export interface WebviewPage {
  /** `<body data-view>`, so tests can tell webviews apart. */
  viewType: string;
  title: string;
  /** Bundle names in dist/, e.g. "region.js" and "region.css"; scripts run in this order. */
  script: string | string[];
  style?: string;
  /** Static markup before the script (no untrusted content). */
  body?: string;
  /** Extra img-src sources, e.g. "data:". */
  imgSources?: string[];
  /** Extra style-src sources, e.g. "'unsafe-inline'" for a library that styles with attributes. */
  styleSources?: string[];
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', name)).toString();
  const csp = [
    "default-src 'none'",
    [`img-src ${webview.cspSource}`, ...(page.imgSources ?? [])].join(' '),
    [`style-src ${webview.cspSource}`, ...(page.styleSources ?? [])].join(' '),
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${page.style ? `<link rel="stylesheet" href="${asset(page.style)}">` : ''}
<title>${page.title}</title>
</head>
<body data-view="${page.viewType}">
${page.body ?? ''}
${([] as string[])
  .concat(page.script)
  .map((s) => `<script nonce="${nonce}" src="${asset(s)}"></script>`)
  .join('\n')}
</body>
</html>`;
}
