/**
 * Self-test of the e2e harness, independent of the real extension: builds a throwaway
 * hello-world extension (activity-bar webview view + Explorer context-menu command) in a temp
 * folder, packages it with vsce, and drives it in code-server + Chromium.
 *
 *   E2E_SELFTEST=1 node --import tsx --test test/e2e/harness-selftest.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import {
  REPO_ROOT,
  collectConsole,
  explorerContextMenu,
  exthostLog,
  memoryMiB,
  launchBrowser,
  openWorkbench,
  runCommand,
  saveLogs,
  screenshot,
  setSidebarWidth,
  startCodeServer,
  webviewViewFrame,
  type CodeServer,
  type ConsoleCollector,
} from './harness';

const execFileAsync = promisify(execFile);
const EXT_ID = 'harness-selftest.hello-lens';
const VIEW_TYPE = 'helloLens.view';

// ---- a tiny PNG encoder (solid colour), so no image files need to be committed ----
function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function png(w: number, h: number, [r, g, b]: [number, number, number]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(crc32(td), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- the hello-world extension ----
const EXTENSION_JS = String.raw`
const vscode = require('vscode');
const path = require('path');
exports.activate = (ctx) => {
  const log = vscode.window.createOutputChannel('Hello Lens', { log: true });
  let view, ready = false, pending = [];
  const post = (m) => (view && ready ? view.webview.postMessage(m) : pending.push(m));
  ctx.subscriptions.push(log, vscode.window.registerWebviewViewProvider('${VIEW_TYPE}', {
    resolveWebviewView(v) {
      view = v; ready = false;
      const media = vscode.Uri.joinPath(ctx.extensionUri, 'media');
      v.webview.options = { enableScripts: true,
        localResourceRoots: [media, ...(vscode.workspace.workspaceFolders || []).map((f) => f.uri)] };
      const logo = v.webview.asWebviewUri(vscode.Uri.joinPath(media, 'logo.png'));
      const csp = v.webview.cspSource;
      v.webview.html = '<!DOCTYPE html><html><head><meta charset="utf-8">'
        + '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src ' + csp
        + '; style-src \'unsafe-inline\'; script-src \'nonce-hello\';">'
        + '<style>body{margin:0;padding:8px} img{width:100%;max-width:160px;display:block}</style></head>'
        + '<body data-view="${VIEW_TYPE}"><img id="logo" alt="logo" src="' + logo + '">'
        + '<div id="msg">waiting</div><img id="picked" alt="picked"><div id="width"></div>'
        + '<script nonce="hello">const vscode = acquireVsCodeApi();'
        + 'const w = () => (document.getElementById("width").textContent = String(window.innerWidth));'
        + 'window.addEventListener("resize", w); w();'
        + 'window.addEventListener("message", (e) => { const m = e.data;'
        + '  if (m.type === "image") { document.getElementById("msg").textContent = "Opened: " + m.name;'
        + '    document.getElementById("picked").src = m.src; } });'
        + 'vscode.postMessage({ type: "ready" });</script></body></html>';
      v.webview.onDidReceiveMessage((m) => {
        if (m.type === 'ready') { ready = true; for (const p of pending.splice(0)) v.webview.postMessage(p); }
      });
      v.onDidDispose(() => { view = undefined; ready = false; });
      log.info('resolved ${VIEW_TYPE}');
    },
  }));
  ctx.subscriptions.push(vscode.commands.registerCommand('helloLens.openImage', async (uri) => {
    await vscode.commands.executeCommand('${VIEW_TYPE}.focus');
    const src = view ? view.webview.asWebviewUri(uri).toString() : '';
    log.info('openImage ' + uri.fsPath);
    post({ type: 'image', name: path.basename(uri.fsPath), src });
  }));
  log.info('hello-lens activated');
  console.log('hello-lens activated (console)');
};
`;

async function buildHelloExtension(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'media'), { recursive: true });
  const manifest = {
    name: 'hello-lens',
    displayName: 'Hello Lens',
    publisher: 'harness-selftest',
    version: '0.0.1',
    license: 'MIT',
    engines: { vscode: '^1.100.0' },
    main: './extension.js',
    activationEvents: [],
    contributes: {
      viewsContainers: { activitybar: [{ id: 'helloLens', title: 'Hello Lens', icon: 'media/icon.svg' }] },
      views: { helloLens: [{ type: 'webview', id: VIEW_TYPE, name: 'Hello View' }] },
      commands: [{ command: 'helloLens.openImage', title: 'Hello Lens: Open Image' }],
      menus: {
        'explorer/context': [
          { command: 'helloLens.openImage', when: 'resourceExtname =~ /\\.(png|jpe?g)$/', group: 'navigation' },
        ],
        commandPalette: [{ command: 'helloLens.openImage', when: 'false' }],
      },
    },
  };
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await fs.writeFile(path.join(dir, 'extension.js'), EXTENSION_JS);
  await fs.writeFile(path.join(dir, 'README.md'), '# Hello Lens\n\nHarness self-test extension.\n');
  await fs.writeFile(
    path.join(dir, 'media', 'icon.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="8" fill="currentColor"/></svg>',
  );
  await fs.writeFile(path.join(dir, 'media', 'logo.png'), png(32, 32, [0, 0, 255]));
  const vsix = path.join(dir, 'hello-lens.vsix');
  await execFileAsync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'vsce'),
    ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', vsix],
    { cwd: dir, timeout: 60_000 },
  );
  return vsix;
}

// ---- the test ----
// ~20 s on 2 cores; the real e2e tests exercise the same helpers, so CI skips this by default.
const SKIP = process.env.E2E_SELFTEST === '1' ? false : 'harness self-test: set E2E_SELFTEST=1 to run it';

describe('e2e harness self-test (hello-world extension)', { skip: SKIP }, () => {
  let tmp: string;
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  let consoleLog: ConsoleCollector;
  const timings: Record<string, number> = {};
  const t0 = Date.now();

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-selftest-'));
    let t = Date.now();
    const vsix = await buildHelloExtension(path.join(tmp, 'ext'));
    timings.vscePackageMs = Date.now() - t;
    const ws = path.join(tmp, 'workspace');
    await fs.mkdir(ws);
    await fs.writeFile(path.join(ws, 'shot.png'), png(64, 48, [0, 160, 0]));
    await fs.writeFile(path.join(ws, 'notes.txt'), 'not an image\n');
    t = Date.now();
    [server, browser] = await Promise.all([startCodeServer({ workspace: ws, vsix }), launchBrowser()]);
    timings.installAndHealthyMs = Date.now() - t;
    timings.healthzMs = server.startupMs;
    t = Date.now();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    consoleLog = collectConsole(page);
    await openWorkbench(page, server.url, server.workspace);
    timings.workbenchReadyMs = Date.now() - t;
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    timings.totalMs = Date.now() - t0;
    console.log('[selftest] timings', JSON.stringify(timings));
  });

  test('harness drives a webview view, a context menu and the sidebar width', async (t) => {
    try {
      // Open the view from the activity bar container via its auto-generated focus command.
      let t1 = Date.now();
      await runCommand(page, 'Hello Lens: Focus on Hello View View');
      const frame = await webviewViewFrame(page, EXT_ID, VIEW_TYPE);
      timings.viewVisibleMs = Date.now() - t1;
      await frame.waitForFunction(() => {
        const img = document.getElementById('logo') as HTMLImageElement | null;
        return !!img && img.complete && img.naturalWidth === 32;
      });
      assert.equal(await frame.locator('#msg').textContent(), 'waiting');

      // Context menu: present for the PNG, absent for the text file.
      t1 = Date.now();
      await runCommand(page, 'View: Show Explorer');
      await assert.rejects(explorerContextMenu(page, 'notes.txt', 'Hello Lens: Open Image', 1500), /has no/);
      await explorerContextMenu(page, 'shot.png', 'Hello Lens: Open Image');
      const frame2 = await webviewViewFrame(page, EXT_ID, VIEW_TYPE);
      await frame2.locator('#msg', { hasText: 'Opened: shot.png' }).waitFor();
      await frame2.waitForFunction(() => (document.getElementById('picked') as HTMLImageElement).naturalWidth === 64);
      timings.contextMenuToRenderMs = Date.now() - t1;

      // Two sidebar widths; the webview follows.
      const widths: Record<number, [number, number]> = {};
      for (const want of [260, 520]) {
        const got = await setSidebarWidth(page, want);
        assert.ok(Math.abs(got - want) <= 2, `sidebar width ${got}, wanted ${want}`);
        await frame2.waitForFunction(
          (w) => Math.abs(window.innerWidth - w) <= 8,
          got,
          { timeout: 5000 },
        );
        widths[want] = [got, await frame2.evaluate(() => window.innerWidth)];
        await screenshot(page, `harness-selftest-sidebar-${want}`);
      }
      t.diagnostic(`sidebar/webview widths: ${JSON.stringify(widths)}`);

      // Keyboard focus inside the webview: runCommand must still reach the workbench.
      await frame2.locator('#msg').click();
      await runCommand(page, 'View: Show Explorer');
      await page.locator('.explorer-folders-view').waitFor();

      assert.match(exthostLog(server, 200, 'Hello Lens'), /hello-lens activated/);
      const mem = memoryMiB(server);
      t.diagnostic(`memory MiB: ${JSON.stringify(mem)}`);
      Object.assign(timings, { codeServerMiB: mem.codeServer, chromiumMiB: mem.chromium });
      const unexpected = consoleLog.unexpected();
      if (process.env.DUMP_CONSOLE) console.log(`console (all):\n${consoleLog.all.join('\n')}`);
      assert.deepEqual(unexpected, [], 'no unexpected console errors or warnings');
    } catch (err) {
      await screenshot(page, 'harness-selftest-failure').catch(() => {});
      console.error(exthostLog(server, 60, 'Hello Lens'));
      console.error('logs saved to', await saveLogs(server, 'harness-selftest'));
      throw err;
    }
  });
});
