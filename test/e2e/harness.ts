/**
 * Real-VS-Code e2e harness: code-server 4.100.3 (VS Code 1.100.3 server + web workbench,
 * installed by scripts/install-test-deps.sh into .tools/code-server) driven by Playwright
 * in Debian's Chromium. Works offline, on 127.0.0.1 only. See test/e2e/README.md.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type ConsoleMessage, type Frame, type Locator, type Page } from 'playwright-core';
import { after, before } from 'node:test';
import { sleep } from '../../src/util/sleep';
import { waitFor } from '../fixtures/wait';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CODE_SERVER_BIN =
  process.env.CODE_SERVER_BIN ?? path.join(REPO_ROOT, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');

/** Settings that keep a fresh VS Code quiet (no welcome page, trust prompt, update/telemetry calls). */
export const QUIET_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  'workbench.layoutControl.enabled': false,
};


// ---------------------------------------------------------------------------------------
// code-server
// ---------------------------------------------------------------------------------------

export interface StartCodeServerOptions {
  /** Folder opened in the workbench (absolute, or relative to the repo root). */
  workspace: string;
  /** Merged over QUIET_SETTINGS into User/settings.json before start. */
  settings?: Record<string, unknown>;
  /** .vsix file(s) installed with --install-extension before start. */
  vsix?: string | string[];
  /** Extra environment for code-server (and so for the extension host). */
  env?: Record<string, string>;
  /** Milliseconds to wait for /healthz (default 30 000). */
  timeoutMs?: number;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface CodeServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  port: number;
  pid: number;
  /** Absolute workspace folder; `${url}/?folder=${workspace}` opens it. */
  workspace: string;
  /** Throwaway folder holding everything below; removed by stop() unless E2E_KEEP_RUN=1. */
  runDir: string;
  userDataDir: string;
  extensionsDir: string;
  /** VS Code server logs: <userDataDir>/logs (one timestamped folder per start). */
  logsDir: string;
  /** code-server's own stdout+stderr. */
  outputFile: string;
  /** ms from spawn until /healthz answered 200. */
  startupMs: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Environment for code-server: ours, minus anything that would make it talk to another VS Code. */
function codeServerEnv(runDir: string, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'PASSWORD' || k === 'HASHED_PASSWORD') continue;
    if (k.startsWith('NODE_TEST') || k === 'NODE_OPTIONS') continue; // node:test / tsx loaders must not leak in
    env[k] = v;
  }
  Object.assign(env, {
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg-cache'),
    TMPDIR: path.join(runDir, 'tmp'),
  });
  return { ...env, ...extra };
}

export async function startCodeServer(opts: StartCodeServerOptions): Promise<CodeServer> {
  if (!existsSync(CODE_SERVER_BIN)) {
    throw new Error(`code-server not found at ${CODE_SERVER_BIN}; run scripts/install-test-deps.sh`);
  }
  const workspace = path.resolve(REPO_ROOT, opts.workspace);
  // Short path under /tmp: VS Code puts unix sockets under TMPDIR (108-byte limit).
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-cs-'));
  const userDataDir = path.join(runDir, 'user-data');
  const extensionsDir = path.join(runDir, 'extensions');
  const outputFile = path.join(runDir, 'code-server.log');
  for (const d of [path.join(userDataDir, 'User'), extensionsDir, 'xdg-config', 'xdg-data', 'xdg-cache', 'tmp']) {
    await fs.mkdir(path.resolve(runDir, d), { recursive: true });
  }
  await fs.writeFile(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2),
  );
  const env = codeServerEnv(runDir, opts.env);
  const dirArgs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  const cleanup = async () => {
    if (process.env.E2E_KEEP_RUN !== '1') await fs.rm(runDir, { recursive: true, force: true });
  };

  try {
    for (const vsix of ([] as string[]).concat(opts.vsix ?? [])) {
      const abs = path.resolve(REPO_ROOT, vsix);
      const { stdout, stderr } = await execFileAsync(CODE_SERVER_BIN, [...dirArgs, '--install-extension', abs], {
        env,
        timeout: 60_000,
      });
      if (!/successfully installed/i.test(stdout + stderr)) {
        throw new Error(`installing ${abs} failed:\n${stdout}\n${stderr}`);
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  const port = opts.port ?? (await freePort());
  const out = await fs.open(outputFile, 'w');
  const t0 = Date.now();
  const child: ChildProcess = spawn(
    CODE_SERVER_BIN,
    [
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...dirArgs,
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', out.fd, out.fd] },
  );
  await out.close();
  const pid = child.pid!;
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `code ${code} signal ${signal}`));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    };
    if (exited === undefined) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      killGroup('SIGTERM');
      await Promise.race([gone, sleep(5000)]);
    }
    killGroup('SIGKILL'); // stragglers (extension host, pty host, watchers) in the group
    await cleanup();
  };

  const url = `http://127.0.0.1:${port}`;
  // Ready (its /healthz answers) or exited: either ends the wait; the deadline counts from the start.
  const ready = await waitFor(
    'code-server to answer /healthz (or exit)',
    async () => (exited !== undefined ? 'exited' : (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok && 'ready'),
    { timeoutMs: Math.max(0, t0 + (opts.timeoutMs ?? 30_000) - Date.now()), intervalMs: 100 },
  ).catch(async (err: unknown) => {
    const log = readFileSync(outputFile, 'utf8');
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}:\n${log}`);
  });
  if (ready === 'exited') {
    const log = readFileSync(outputFile, 'utf8');
    await stop();
    throw new Error(`code-server exited (${exited}) before it was ready:\n${log}`);
  }

  return {
    url,
    port,
    pid,
    workspace,
    runDir,
    userDataDir,
    extensionsDir,
    logsDir: path.join(userDataDir, 'logs'),
    outputFile,
    startupMs: Date.now() - t0,
    stop,
  };
}

// ---------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

/** All log files of this code-server (server, remote agent, extension host, output channels). */
export function listLogs(server: CodeServer): string[] {
  return [server.outputFile, ...walk(server.logsDir)].filter((f) => existsSync(f));
}

function tail(file: string, lines: number): string {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return text.split('\n').slice(-lines - 1).join('\n');
}

/**
 * Tail of the extension host log (exthost*\/remoteexthost.log: activation errors, uncaught
 * exceptions, console.* of extensions) plus, if given, the output channel whose log file name
 * contains `channel` (e.g. the extension's LogOutputChannel name).
 */
export function exthostLog(server: CodeServer, lines = 80, channel?: string): string {
  const files = walk(server.logsDir);
  const pick = (pred: (f: string) => boolean) =>
    files.filter(pred).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const parts: string[] = [];
  for (const f of pick((f) => /exthost\d*[\\/]remoteexthost\.log$/.test(f) || /exthost\d*\.log$/.test(f))) {
    parts.push(`==> ${f} <==\n${tail(f, lines)}`);
  }
  if (channel) {
    for (const f of pick((f) => path.basename(f).includes(channel) || f.includes(`${path.sep}${channel}`))) {
      parts.push(`==> ${f} <==\n${tail(f, lines)}`);
    }
  }
  return parts.join('\n') || `(no extension host log under ${server.logsDir})`;
}

/** Tail of code-server's own stdout/stderr. */
export function serverOutput(server: CodeServer, lines = 80): string {
  return tail(server.outputFile, lines);
}

/** Copy code-server's output and all VS Code logs to test-results/<name>-logs/ (kept after stop()). */
export async function saveLogs(server: CodeServer, name: string): Promise<string> {
  const dest = path.join(RESULTS_DIR, `${sanitize(name)}-logs`);
  await fs.rm(dest, { recursive: true, force: true });
  await fs.mkdir(dest, { recursive: true });
  if (existsSync(server.outputFile)) await fs.copyFile(server.outputFile, path.join(dest, 'code-server.log'));
  if (existsSync(server.logsDir)) await fs.cp(server.logsDir, path.join(dest, 'vscode'), { recursive: true });
  return dest;
}

// ---------------------------------------------------------------------------------------
// Browser / workbench
// ---------------------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** `args` are added to CHROMIUM_ARGS. */
export async function launchBrowser(opts: { headless?: boolean; args?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? process.env.E2E_HEADED !== '1',
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}

/** Console messages that are expected in code-server and mean nothing. */
export const KNOWN_CONSOLE_NOISE: RegExp[] = [
  /status of 404 .*\/vsda(_bg\.wasm|\.js)\)$/, // not in open-source builds
  /An iframe which has both allow-scripts and allow-same-origin/, // every webview's outer iframe
  /The web worker extension host is started in a same-origin iframe/,
]

export interface ConsoleCollector {
  /** Every console message of level error/warning and every page error, as text. */
  all: string[];
  /** Same, minus KNOWN_CONSOLE_NOISE. */
  unexpected(): string[];
}

/** Start recording console errors/warnings and uncaught page errors of `page` (and its frames). */
export function collectConsole(page: Page): ConsoleCollector {
  const all: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const where = m.location().url;
    all.push(`[${m.type()}] ${m.text()}${where ? ` (${where})` : ''}`);
  });
  page.on('pageerror', (e) => all.push(`[pageerror] ${e.message}`));
  return { all, unexpected: () => all.filter((t) => !KNOWN_CONSOLE_NOISE.some((re) => re.test(t))) };
}

/** Creates a page (1280×800 unless given) and opens the workbench on `folder` (default: the server's workspace). */
export async function newWorkbenchPage(
  browser: Browser,
  server: CodeServer,
  opts: { folder?: string; viewport?: { width: number; height: number } } = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
  await openWorkbench(page, server.url, opts.folder ?? server.workspace);
  return page;
}

/**
 * Opens `${url}/?folder=…` and waits until the workbench is usable: `.monaco-workbench`, the
 * Explorer tree, and the status bar; then focuses the workbench so keyboard shortcuts reach it.
 */
export async function openWorkbench(page: Page, url: string, folder: string, timeoutMs = 30_000): Promise<void> {
  await page.goto(`${url}/?folder=${encodeURIComponent(path.resolve(folder))}`);
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page
    .locator('.explorer-folders-view .monaco-list-row')
    .first()
    .waitFor({ state: 'visible', timeout: Math.min(timeoutMs, 5000) })
    .catch(() => {
      /* empty workspace, or the Explorer is not the visible view */
    });
}

/**
 * Moves keyboard focus out of a webview iframe (without a click, which could hit something).
 * F1 does work from inside a webview (webviews forward keybindings to the workbench), but typed
 * keys and Enter/Escape should land in the workbench.
 */
async function focusWorkbench(page: Page): Promise<void> {
  await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (el?.tagName === 'IFRAME') el.blur();
  });
  // An open context menu takes the keys (F1 would not reach the workbench): close it first.
  const menu = page.locator('.context-view .monaco-menu');
  if (await menu.isVisible()) {
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden', timeout: 3000 });
  }
}

/** The command palette / quick pick widget. */
export const QUICK_INPUT = '.quick-input-widget';

/**
 * Runs a command from the command palette: F1, type `title`, wait for the row whose label is
 * exactly `title`, click it; returns when the palette has closed. The palette's command list
 * is computed when it opens, and extension commands only appear once the extension host has
 * registered them (a second or two after the workbench shows), so it reopens the palette
 * until the command is there or `timeoutMs` has passed.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const widget = page.locator(QUICK_INPUT);
  const row = widget
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
    .first();
  for (let attempt = 1; ; attempt++) {
    await focusWorkbench(page);
    await page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    await widget.locator('input.input').fill(`>${title}`);
    try {
      await row.waitFor({ state: 'visible', timeout: Math.min(attempt === 1 ? 1500 : 1000, Math.max(500, deadline - Date.now())) });
      break;
    } catch (err) {
      const shown = await widget.locator('.monaco-list-row').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
      await page.keyboard.press('Escape');
      if (Date.now() >= deadline) {
        throw new Error(`command "${title}" not in the palette; it shows: ${JSON.stringify(shown)}`, { cause: err });
      }
      await sleep(250);
    }
  }
  await row.click();
  // The palette closes; a command that asks something reuses the same widget at once for its
  // own quick pick, so "hidden" may never be seen: wait until the palette's `>` query is gone.
  await page.waitForFunction(
    (selector) => {
      const w = document.querySelector<HTMLElement>(selector);
      if (!w || w.getClientRects().length === 0) return true;
      return !(w.querySelector<HTMLInputElement>('input.input')?.value ?? '').startsWith('>');
    },
    QUICK_INPUT,
    { timeout: 5000 },
  );
}

/** The Explorer row of `fileName` (a name shown in the tree; nested paths must be expanded already). */
export function explorerItem(page: Page, fileName: string): Locator {
  return page
    .locator('.explorer-folders-view .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(fileName)}$`) }) })
    .first();
}

/** Context-menu items currently shown (code-server renders menus as HTML in an open shadow root). */
export const CONTEXT_MENU_ITEM = '.context-view .monaco-menu .action-item:not(.disabled) .action-label';

/**
 * Right-clicks `fileName` in the Explorer and chooses `menuItemLabel` from the context menu.
 * Reveals the Explorer first (workbench.view.explorer) if the tree is not visible.
 *
 * VS Code hides the menu before it runs the chosen action, so a menu still open after the
 * click means the click did not take (on a loaded machine it can land while the menu is being
 * laid out again: a clean-clone CI run saw the menu stay open for 10 s). Then the menu is
 * closed with Escape and the whole choice made again, until `timeoutMs` has passed.
 */
export async function explorerContextMenu(
  page: Page,
  fileName: string,
  menuItemLabel: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = (atMost: number): number => Math.max(500, Math.min(atMost, deadline - Date.now()));
  const item = explorerItem(page, fileName);
  if (!(await item.isVisible())) {
    await runCommand(page, 'View: Show Explorer');
  }
  await item.waitFor({ state: 'visible', timeout: left(timeoutMs) });
  const menu = page.locator('.context-view .monaco-menu');
  const entry = page.locator(CONTEXT_MENU_ITEM).filter({ hasText: new RegExp(`^${escapeRegExp(menuItemLabel)}$`) });
  for (;;) {
    // Right-click alone selects the row for the menu; a left click would also open the file.
    await item.click({ button: 'right' });
    try {
      await entry.first().waitFor({ state: 'visible', timeout: left(timeoutMs) });
    } catch (err) {
      const shown = await page.locator(CONTEXT_MENU_ITEM).allTextContents();
      await page.keyboard.press('Escape');
      throw new Error(`context menu of ${fileName} has no "${menuItemLabel}"; it shows: ${JSON.stringify(shown)}`, {
        cause: err,
      });
    }
    await entry.first().hover();
    await entry.first().click();
    try {
      await menu.waitFor({ state: 'hidden', timeout: left(3000) });
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() >= deadline) {
        throw new Error(`the context menu of ${fileName} stayed open after choosing "${menuItemLabel}"`, { cause: err });
      }
      await menu.waitFor({ state: 'hidden', timeout: left(3000) });
    }
  }
}

// ---------------------------------------------------------------------------------------
// Webview views
// ---------------------------------------------------------------------------------------

/**
 * Outer iframes of all webviews (views and editor panels) of `extensionId` (publisher.name,
 * any case). Note: `purpose=webviewView` is in the src only the first time a view's webview is
 * created; once the view was hidden and shown again, its new iframe lacks it, so it is not
 * used to tell views from panels; the iframe's position (over which workbench part) is.
 */
export function webviewOuterIframes(page: Page, extensionId: string): Locator {
  return page.locator(`iframe.webview[src*="extensionId=${extensionId}" i]`);
}

/** Which workbench part the centre of `el` lies in (webview iframes are overlays, not children of their part). */
async function partAt(page: Page, el: Locator): Promise<string | undefined> {
  const box = await el.boundingBox();
  if (!box || box.width < 1 || box.height < 1) return undefined;
  return page.evaluate(
    ({ x, y }) => {
      for (const part of ['sidebar', 'auxiliarybar', 'panel', 'editor']) {
        const r = document.querySelector(`.monaco-workbench .part.${part}`)?.getBoundingClientRect();
        if (r && r.width > 0 && x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return part;
      }
      return undefined;
    },
    { x: box.x + box.width / 2, y: box.y + box.height / 2 },
  );
}

/**
 * The inner `iframe#active-frame` Frame of the visible webview *view* of `extensionId` (one over
 * the side bar, secondary side bar or panel, not an editor webview panel) and, if given, whose
 * `<body data-view>` is `viewType`. Waits up to `timeoutMs` for it to exist with its HTML set.
 *
 * A view without retainContextWhenHidden gets a new iframe each time it is shown again, and the
 * old Frame is detached: call this again after the view was hidden.
 */
export async function webviewViewFrame(
  page: Page,
  extensionId: string,
  viewType?: string,
  timeoutMs = 15_000,
): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  const outers = webviewOuterIframes(page, extensionId);
  for (;;) {
    const reasons: string[] = []; // why each candidate was not taken (for the error)
    for (const [i, outer] of (await outers.all()).entries()) {
      const why = (r: string) => reasons.push(`#${i}: ${r}`);
      if (!(await outer.isVisible().catch(() => false))) {
        why('hidden (its view is not shown: the side bar shows another view, e.g. the Explorer)');
        continue;
      }
      const part = await partAt(page, outer).catch(() => undefined);
      if (part === undefined || part === 'editor') {
        why(`over ${part ?? 'no part'}`);
        continue;
      }
      const outerFrame = await (await outer.elementHandle({ timeout: 1000 }).catch(() => null))?.contentFrame();
      const innerEl = await outerFrame?.$('iframe#active-frame').catch(() => null);
      const inner = await innerEl?.contentFrame();
      if (!inner) {
        why(`over ${part}, no #active-frame yet`);
        continue;
      }
      const view = await inner
        .evaluate(() => (document.body ? (document.body.dataset.view ?? null) : undefined))
        .catch((e: unknown) => `error: ${String(e).split('\n')[0]}`);
      if (view === undefined) {
        why(`over ${part}, no <body> yet`);
        continue;
      }
      if (view?.startsWith('error: ')) {
        why(`over ${part}, ${view}`);
        continue;
      }
      if (viewType !== undefined && view !== viewType) {
        why(`over ${part}, body data-view=${JSON.stringify(view)}`);
        continue;
      }
      return inner;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no visible webview view of ${extensionId}${viewType ? ` with data-view=${viewType}` : ''} after ${timeoutMs} ms; ` +
          `candidates: ${reasons.length ? reasons.join('; ') : 'none (no iframe.webview of this extension)'}`,
      );
    }
    await sleep(150);
  }
}

/**
 * The inner Frame of an editor webview *panel* (or any webview) whose `<body data-view>` is
 * `viewType`; waits up to `timeoutMs` for it.
 */
export async function webviewPanelFrame(page: Page, viewType: string, timeoutMs = 15_000): Promise<Frame> {
  return waitFor(
    `the webview with data-view=${viewType}`,
    async () => {
      for (const f of page.frames()) {
        const view = await f.evaluate(() => document.body?.dataset.view).catch(() => undefined);
        if (view === viewType) return f;
      }
      return undefined;
    },
    { timeoutMs },
  );
}

/** Pastes PNG bytes into the chat's composer (as Ctrl+V with an image on the clipboard does). */
export async function pasteImage(frame: Frame, png: Buffer, name = 'pasted.png'): Promise<void> {
  await frame.evaluate(
    ({ b64, name }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' }));
      document.querySelector('.composer textarea')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    },
    { b64: png.toString('base64'), name },
  );
}

// ---------------------------------------------------------------------------------------
// Layout: side bar / panel width
// ---------------------------------------------------------------------------------------

export type WorkbenchPart = 'sidebar' | 'auxiliarybar';

const PART_SELECTOR: Record<WorkbenchPart, string> = {
  sidebar: '.monaco-workbench .part.sidebar',
  auxiliarybar: '.monaco-workbench .part.auxiliarybar',
};

/** Current width (CSS px) of the side bar (or secondary side bar). */
export async function partWidth(page: Page, part: WorkbenchPart = 'sidebar'): Promise<number> {
  const box = await page.locator(PART_SELECTOR[part]).boundingBox();
  if (!box) throw new Error(`${part} is not visible`);
  return Math.round(box.width);
}

/**
 * Sets the width of the side bar (default) or secondary side bar by dragging the vertical sash
 * on its editor-facing edge, like a user. VS Code clamps it (side bar minimum 170 px, and the
 * editor keeps a minimum), so the resulting width is returned; check it.
 */
export async function setSidebarWidth(page: Page, px: number, part: WorkbenchPart = 'sidebar'): Promise<number> {
  const partBox = await page.locator(PART_SELECTOR[part]).boundingBox();
  if (!partBox) throw new Error(`${part} is not visible; open a view in it first`);
  const sashes = await page.locator('.monaco-workbench .monaco-sash.vertical:not(.disabled)').all();
  const edges = { left: partBox.x, right: partBox.x + partBox.width };
  let best: { x: number; y: number; edge: 'left' | 'right'; d: number } | undefined;
  for (const s of sashes) {
    const b = await s.boundingBox();
    if (!b || b.height < partBox.height / 2) continue; // sashes inside views (split panes) are shorter
    const cx = b.x + b.width / 2;
    const cy = Math.max(b.y, partBox.y) + Math.min(b.height, partBox.height) / 2;
    for (const edge of ['left', 'right'] as const) {
      const d = Math.abs(cx - edges[edge]);
      if (d <= 6 && (!best || d < best.d)) best = { x: cx, y: cy, edge, d };
    }
  }
  if (!best) throw new Error(`no sash found on the edge of the ${part}`);
  // Side bar on the left: its right edge moves; on the right (or aux bar): its left edge.
  const target = best.edge === 'right' ? partBox.x + px : partBox.x + partBox.width - px;
  await page.mouse.move(best.x, best.y);
  await page.mouse.down();
  await page.mouse.move((best.x + target) / 2, best.y, { steps: 4 });
  await page.mouse.move(target, best.y, { steps: 4 });
  await page.mouse.up();
  // Move off the sash, or it stays highlighted (a blue bar) in screenshots.
  const editor = await page.locator('.monaco-workbench .part.editor').boundingBox();
  if (editor) await page.mouse.move(editor.x + editor.width / 2, editor.y + editor.height / 2);
  // Let layout (and webview resize observers) run: two animation frames.
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  return partWidth(page, part);
}

// ---------------------------------------------------------------------------------------
// Screenshots and resources
// ---------------------------------------------------------------------------------------

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'shot';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Saves a full-page PNG (iframes included) to test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${sanitize(name)}.png`);
  await page.screenshot({ path: file });
  return file;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** The command line, arguments joined by NUL as in /proc. */
  cmdline: string;
}

/** Every process on this machine (those that exit while being read are left out). */
export function listProcesses(): ProcessInfo[] {
  const procs: ProcessInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.push({ pid: Number(d), ppid: Number(f[1]), pgid: Number(f[2]), cmdline: readFileSync(`/proc/${d}/cmdline`, 'utf8') });
    } catch {
      /* exited */
    }
  }
  return procs;
}

/**
 * Memory (MiB, proportional set size, so shared pages are not counted twice) of code-server's
 * process group (server, extension host, pty host, the extension's own child processes) and of
 * the Chromium processes started by this test process.
 */
export function memoryMiB(server?: CodeServer): { codeServer: number; chromium: number } {
  const procs = listProcesses();
  const pssKiB = (pid: number): number => {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const mine = new Set<number>();
  const stack = [process.pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      if (!mine.has(c)) {
        mine.add(c);
        stack.push(c);
      }
    }
  }
  let codeServerKiB = 0;
  let chromiumKiB = 0;
  for (const p of procs) {
    if (server && p.pgid === server.pid) codeServerKiB += pssKiB(p.pid);
    else if (mine.has(p.pid)) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim();
      } catch {
        /* exited */
      }
      if (/chrom/i.test(comm)) chromiumKiB += pssKiB(p.pid);
    }
  }
  return { codeServer: Math.round(codeServerKiB / 1024), chromium: Math.round(chromiumKiB / 1024) };
}

// ---------------------------------------------------------------------------------------
// Activation
// ---------------------------------------------------------------------------------------

/**
 * How the extension host activated `extensionId` (publisher.name), from its log line
 * `ExtensionService#_doActivateExtension <id>, startup: <bool>, activationEvent: '<event>'`;
 * undefined while it has not been activated.
 */
export function activationRecord(server: CodeServer, extensionId: string): { startup: boolean; event: string } | undefined {
  const re = new RegExp(`_doActivateExtension ${escapeRegExp(extensionId)}, startup: (true|false), activationEvent: '([^']*)'`, 'i');
  for (const f of walk(server.logsDir).filter((f) => /exthost\d*[\\/]remoteexthost\.log$/.test(f))) {
    const m = re.exec(readFileSync(f, 'utf8'));
    if (m) return { startup: m[1] === 'true', event: m[2]! };
  }
  return undefined;
}

/**
 * The extension's activation time as VS Code measured it (code loading + activate()), read from
 * "Developer: Show Running Extensions" (`Activation: 55ms`, or `Startup Activation: …` for
 * extensions activated at startup). The editor is closed again afterwards.
 */
export async function activationTimeMs(page: Page, displayName: string, timeoutMs = 15_000): Promise<{ ms: number; startup: boolean }> {
  await runCommand(page, 'Developer: Show Running Extensions', timeoutMs);
  const time = page
    .locator('.runtime-extensions-editor .monaco-list-row', { has: page.locator('.name', { hasText: new RegExp(`^${escapeRegExp(displayName)}$`) }) })
    .locator('.activation-time');
  await time.waitFor({ state: 'visible', timeout: timeoutMs });
  const text = (await time.textContent()) ?? '';
  await runCommand(page, 'View: Close Editor');
  const m = /(Startup )?Activation: (\d+)\s*ms/i.exec(text);
  if (!m) throw new Error(`unexpected activation time text: ${JSON.stringify(text)}`);
  return { ms: Number(m[2]), startup: m[1] !== undefined };
}

/** Native libraries (.node, .so, .dylib) under this code-server's extensions folder mapped into its extension host(s). */
export function extensionHostNativeLibraries(server: CodeServer): string[] {
  const hosts = listProcesses().filter((p) => p.pgid === server.pid && p.cmdline.includes('extensionHost'));
  if (hosts.length === 0) throw new Error('no extension host runs');
  const libs = new Set<string>();
  for (const { pid } of hosts) {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/')).trim();
      if (line.includes('/') && file.startsWith(server.extensionsDir) && /\.(node|so(\.[\d.]+)?|dylib)$/.test(file)) libs.add(file);
    }
  }
  return [...libs];
}

/**
 * How many regions the chat's overlay canvas inside `scope` draws, from its accessible label
 * ("3 regions over screen.png"); 0 when no image there has regions. Regions are painted on a
 * canvas, so there are no elements to count.
 */
export async function drawnRegionCount(scope: Locator | Frame): Promise<number> {
  const canvas = scope.locator('.stage.has-regions canvas.overlay');
  if ((await canvas.count()) === 0) return 0;
  const label = (await canvas.first().getAttribute('aria-label')) ?? '';
  return Number(/^(\d+) regions? /.exec(label)?.[1] ?? 0);
}

// ---------------------------------------------------------------------------------------
// The InternVL Lens fixture: what every e2e file starts from
// ---------------------------------------------------------------------------------------

/** The extension as VS Code names it (publisher.name). */
export const EXTENSION_ID = 'internvl-lens.internvl-lens';
/** The chat's webview view. */
export const CHAT_VIEW = 'internvlLens.chat';
/**
 * The packaged extension the e2e preparation builds (`node scripts/package.mjs --llama-cpp test`);
 * LENS_VSIX names another (an older build, for "before" screenshots: scripts/issue16-screenshots.sh).
 */
export const LENS_VSIX = process.env.LENS_VSIX ? path.resolve(process.env.LENS_VSIX) : path.join(REPO_ROOT, 'dist', 'internvl-lens.vsix');

/**
 * Given to every test extension's source: writes `value` as JSON to `name` in `folder`, beside
 * first and then renamed, so a test that waits for the name never reads it half-written (two
 * e2e runs once did: "Unexpected end of JSON input").
 */
const WRITE_RESULT_JS = `async function writeResult(folder, name, value) {
  const vscode = require('vscode');
  const partial = vscode.Uri.joinPath(folder, name + '.partial');
  await vscode.workspace.fs.writeFile(partial, Buffer.from(JSON.stringify(value)));
  await vscode.workspace.fs.rename(partial, vscode.Uri.joinPath(folder, name), { overwrite: true });
}
`;

/**
 * A small extension of the test's own, packaged as a VSIX to install beside InternVL Lens (LensSetup
 * extraVsix): it calls Lens as another extension would. `contributes` goes into its manifest,
 * `source` is its extension.js (CommonJS, `require('vscode')`), which may call
 * `writeResult(folder, name, value)` (WRITE_RESULT_JS) to hand the test what it got.
 */
export function testExtensionVsix(name: string, contributes: Record<string, unknown>, source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const manifest = {
    name,
    publisher: 'lens-tests',
    version: '0.0.1',
    license: 'MIT',
    repository: `https://example.invalid/${name}`,
    engines: { vscode: '^1.100.0' },
    main: './extension.js',
    activationEvents: [],
    contributes,
  };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  writeFileSync(path.join(dir, 'LICENSE'), 'MIT');
  writeFileSync(path.join(dir, 'extension.js'), `${WRITE_RESULT_JS}${source}`);
  const vsix = path.join(dir, `${name}.vsix`);
  const vsce = path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--out', vsix], { cwd: dir, stdio: 'pipe' });
  return vsix;
}

/** A generated tiny model (test/integration/support.ts tinyModel). */
export interface ModelFiles {
  modelPath: string;
  mmprojPath: string;
}

/** What one e2e file needs of its workbench; `setup` returns it, given the fresh workspace folder. */
export interface LensSetup {
  /** The model the settings point at (with a 4096-token context and 2 threads, the tests' machine). */
  model?: ModelFiles;
  /** More settings, merged over the model's (and over QUIET_SETTINGS). */
  settings?: Record<string, unknown>;
  /** Environment for code-server and so for the extension host (DISPLAY, HF_ENDPOINT, …). */
  env?: Record<string, string>;
  /** Other extensions (.vsix) installed beside InternVL Lens. */
  extraVsix?: string[];
  /** The browser page's size (default 1400×900). */
  viewport?: { width: number; height: number };
  /** Arguments added to CHROMIUM_ARGS. */
  browserArgs?: string[];
}

export interface LensWorkbench {
  server: CodeServer;
  browser: Browser;
  page: Page;
  /** The workspace folder the workbench has open. */
  workspace: string;
  /** The chat view's frame (waits for it; call again after the view was hidden or the window reloaded). */
  chat(timeoutMs?: number): Promise<Frame>;
  /** Runs "InternVL Lens: Open Chat" and returns the chat view's frame. */
  openChat(timeoutMs?: number): Promise<Frame>;
  /** A path in the extension's global storage of this code-server (attachments/, history/, …). */
  storagePath(...parts: string[]): string;
  /** `promise`, and when it fails, the tail of the extension host's and the extension's logs on stderr first. */
  withLogs<T>(promise: Promise<T>): Promise<T>;
  /** Saves the logs (test-results/<name>-logs), closes the browser and stops code-server. */
  close(): Promise<void>;
}

/** The settings that point the extension at `model`. */
export function modelSettings(model: ModelFiles): Record<string, unknown> {
  return { 'internvlLens.modelPath': model.modelPath, 'internvlLens.mmprojPath': model.mmprojPath, 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2 };
}

/**
 * Starts code-server with InternVL Lens installed on a fresh workspace folder (named after `name`,
 * filled by `setup`), a browser, and a page with the workbench open.
 */
export async function startLensWorkbench(name: string, setup: (workspace: string) => LensSetup | Promise<LensSetup> = () => ({})): Promise<LensWorkbench> {
  const workspace = await fs.mkdtemp(path.join(os.tmpdir(), `lens-${sanitize(name)}-`));
  const s = await setup(workspace);
  const server = await startCodeServer({
    workspace,
    settings: { ...(s.model ? modelSettings(s.model) : {}), ...s.settings },
    vsix: [LENS_VSIX, ...(s.extraVsix ?? [])],
    ...(s.env ? { env: s.env } : {}),
  });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser({ args: s.browserArgs ?? [] });
    const page = await newWorkbenchPage(browser, server, { viewport: s.viewport ?? { width: 1400, height: 900 } });
    const chat = (timeoutMs = 20_000) => webviewViewFrame(page, EXTENSION_ID, CHAT_VIEW, timeoutMs);
    const opened = browser;
    return {
      server,
      browser,
      page,
      workspace,
      chat,
      async openChat(timeoutMs = 45_000) {
        await runCommand(page, 'InternVL Lens: Open Chat', 20_000);
        return chat(timeoutMs);
      },
      storagePath: (...parts) => path.join(server.userDataDir, 'User', 'globalStorage', EXTENSION_ID, ...parts),
      withLogs: (promise) =>
        promise.catch((err: unknown) => {
          console.error(exthostLog(server, 60, 'InternVL Lens'));
          throw err;
        }),
      async close() {
        await saveLogs(server, name).catch(() => undefined);
        await opened.close();
        await server.stop();
      },
    };
  } catch (err) {
    await saveLogs(server, name).catch(() => undefined);
    await browser?.close();
    await server.stop();
    throw err;
  }
}

/**
 * The workbench of one suite: started (startLensWorkbench) before its first test, closed after
 * its last one. Call it in the describe() body; its fields are there once the suite runs.
 */
export function useLensWorkbench(name: string, setup?: (workspace: string) => LensSetup | Promise<LensSetup>): LensWorkbench {
  let started: LensWorkbench | undefined;
  before(async () => {
    started = await startLensWorkbench(name, setup);
  });
  after(async () => {
    await started?.close();
  });
  const get = (): LensWorkbench => {
    if (!started) throw new Error(`the ${name} workbench has not started (its before hook failed, or it is used outside a test)`);
    return started;
  };
  return {
    get server() {
      return get().server;
    },
    get browser() {
      return get().browser;
    },
    get page() {
      return get().page;
    },
    get workspace() {
      return get().workspace;
    },
    chat: (timeoutMs) => get().chat(timeoutMs),
    openChat: (timeoutMs) => get().openChat(timeoutMs),
    storagePath: (...parts) => get().storagePath(...parts),
    withLogs: (promise) => get().withLogs(promise),
    close: () => get().close(),
  };
}
