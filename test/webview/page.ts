// A file: page that runs shipped webview bundles from dist/ as an InternVL Lens panel does:
// under the same kind of Content Security Policy (scripts only with the page's nonce; file:
// standing in for the webview's resource origin) with a stand-in for acquireVsCodeApi that
// records every message in `window.sent`.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../e2e/harness';

export interface BundlePage {
  url: string;
  /** The page's folder: put images the page should load here. */
  dir: string;
}

export function bundlePage(opts: { viewType: string; scripts: string[]; style?: string; imgSources?: string[]; styleSources?: string[]; body?: string }): BundlePage {
  const dir = mkdtempSync(join(tmpdir(), 'lens-webview-page-'));
  for (const f of [...opts.scripts, ...(opts.style ? [opts.style] : [])]) copyFileSync(join(REPO_ROOT, 'dist', f), join(dir, f));
  const csp = [
    "default-src 'none'",
    ['img-src file:', ...(opts.imgSources ?? [])].join(' '),
    ['style-src file:', ...(opts.styleSources ?? [])].join(' '),
    'font-src file:',
    "script-src 'nonce-test'",
  ].join('; ');
  const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
${opts.style ? `<link rel="stylesheet" href="${opts.style}">` : ''}
<script nonce="test">window.sent = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m) });</script>
</head><body data-view="${opts.viewType}">${opts.body ?? ''}${opts.scripts.map((s) => `<script nonce="test" src="${s}"></script>`).join('')}</body></html>`;
  writeFileSync(join(dir, 'index.html'), html);
  return { url: pathToFileURL(join(dir, 'index.html')).href, dir };
}

/** The chat webview's page (dist/webview.js under the chat panel's CSP, its codicon font beside it). */
export function chatBundlePage(): BundlePage {
  const page = bundlePage({ viewType: 'internvlLens.chat', scripts: ['webview.js'], style: 'webview.css', imgSources: ['data:'], body: '<main id="app"></main>' });
  copyFileSync(join(REPO_ROOT, 'dist', 'codicon.ttf'), join(page.dir, 'codicon.ttf'));
  return page;
}
