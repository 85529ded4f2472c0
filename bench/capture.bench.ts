/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Capture Screen of a 1920×1080 screen until the image is visible in the chat (model excluded).
// Budget: 250 ms. The screen is a private Xvfb showing a headed Chromium with a busy page (text,
// gradients, a counter that changes every frame, so no two captures are alike).
//   1. in-process phases, side by side: grab (native), display JPEG encode (native), store
//      (AttachmentStore.addGrab); then, off the way to the chat, the lossless PNG and model copy
//   2. end to end in a real VS Code (code-server): keypress → capture → store → chat → image
//      decoded and shown in the chat webview; the question box is skipped with the command's
//      `question` argument, bound to a key in keybindings.json. Budgeted: captures one at a time
//      (1 s apart, as a user's are); shown beside it: captures back to back.
//   node scripts/build.mjs && node scripts/package.mjs && node --import tsx bench/capture.bench.ts
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { AttachmentStore } from '../src/chat/attachments';
import { grabForChat, grabScreen } from '../src/capture/screen';
import { modelCopyReady } from '../src/images';
import { CHROMIUM_ARGS, CHROMIUM_PATH, exthostLog, launchBrowser, newWorkbenchPage, REPO_ROOT, runCommand, startCodeServer, webviewViewFrame } from '../test/e2e/harness';
import { startXDisplay } from '../test/fixtures/xdisplay';
import { reportBench } from './report';

const SCREEN = { width: 1920, height: 1080 };
const BUDGET_MS = 250;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BACK_TO_BACK_RUNS = Math.ceil(RUNS * 0.67);
/** Pause between captures measured one at a time. */
const SETTLE_MS = 1000;
const KEY = 'ctrl+alt+shift+9';

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
  return `median ${at(0.5).toFixed(1)} ms · p95 ${at(0.95).toFixed(1)} ms · min ${s[0]!.toFixed(1)} ms (n=${s.length})`;
}

/** A page that looks like a busy screen: lines of code-like text, colour, a ticking counter. */
function busyPage(): string {
  const words = ['const', 'capture', 'await', 'screen', 'return', 'image', 'region', 'function', 'chat', 'model'];
  const lines = Array.from({ length: 70 }, (_, i) =>
    `<div style="color:hsl(${(i * 47) % 360} 60% 70%)">${String(i + 1).padStart(3)}  ${Array.from({ length: 14 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ')}</div>`,
  ).join('');
  return `<!DOCTYPE html><html><body style="margin:0;font:14px monospace;background:#1e1e1e">
<div id="n" style="position:fixed;right:20px;top:10px;font-size:40px;color:#fff">0</div>${lines}
<script>let n=0;setInterval(()=>{document.getElementById('n').textContent=String(n++)},100)</script></body></html>`;
}

async function main(): Promise<void> {
  const x = await startXDisplay(SCREEN);
  process.env.DISPLAY = x.display;
  delete process.env.WAYLAND_DISPLAY;
  const dir = mkdtempSync(join(tmpdir(), 'lens-capture-bench-'));
  writeFileSync(join(dir, 'busy.html'), busyPage());
  const screenBrowser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: false,
    args: [...CHROMIUM_ARGS, '--window-position=0,0', `--window-size=${SCREEN.width},${SCREEN.height}`, '--kiosk'],
    env: { ...process.env, DISPLAY: x.display },
  });
  try {
    const screenPage = await screenBrowser.newPage({ viewport: null });
    await screenPage.goto(`file://${join(dir, 'busy.html')}`);
    await new Promise((r) => setTimeout(r, 1000));

    // 1. Phases in this process.
    const store = new AttachmentStore(join(dir, 'attachments'));
    const grab: number[] = [];
    const encode: number[] = [];
    const save: number[] = [];
    const modelCopy: number[] = [];
    const total: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const shot = await grabScreen();
      const t1 = performance.now();
      const capture = await grabForChat(shot, 'screen');
      const t2 = performance.now();
      // As the Capture commands store it: the lossless PNG and the model-sized copy are written in the background.
      const attachment = await store.addGrab(capture, capture.name);
      const t3 = performance.now();
      await Promise.all([modelCopyReady(attachment.path), modelCopyReady(attachment.model.modelPath)]);
      const t4 = performance.now();
      grab.push(t1 - t0);
      encode.push(t2 - t1);
      save.push(t3 - t2);
      modelCopy.push(t4 - t3);
      total.push(t3 - t0);
      bytes = capture.display.length;
      if (capture.width !== SCREEN.width || capture.height !== SCREEN.height) throw new Error(`captured ${capture.width}×${capture.height}`);
    }
    console.log(`screen ${SCREEN.width}×${SCREEN.height}, display JPEG ~${(bytes / 1024).toFixed(0)} KiB`);
    console.log(`  grab (native)      ${stats(grab)}`);
    console.log(`  encode display JPEG ${stats(encode)}`);
    console.log(`  store              ${stats(save)}`);
    console.log(`  in-process total   ${stats(total)}`);
    console.log(`  then, off the path to the chat: lossless PNG and model-sized copy written ${stats(modelCopy)}`);

    // 2. End to end in a real VS Code.
    const workspace = mkdtempSync(join(tmpdir(), 'lens-ws-bench-'));
    // BENCH_VSIX: another build to compare with, on the same machine under the same load.
    const server = await startCodeServer({ workspace, vsix: process.env.BENCH_VSIX ?? join(REPO_ROOT, 'dist', 'internvl-lens.vsix'), env: { DISPLAY: x.display } });
    writeFileSync(
      join(server.userDataDir, 'User', 'keybindings.json'),
      JSON.stringify([{ key: KEY, command: 'internvlLens.captureScreen', args: { question: 'Describe this screenshot.' } }]),
    );
    const browser = await launchBrowser();
    try {
      const page = await newWorkbenchPage(browser, server);
      await runCommand(page, 'InternVL Lens: Open Chat');
      const frame = await webviewViewFrame(page, 'internvl-lens.internvl-lens', 'internvlLens.chat', 20_000);
      const shown = (): Promise<number> => frame.evaluate(() => document.querySelectorAll('.turn .stage img').length);
      // When each image element appears in the chat, and when it has loaded (Date.now: one clock for page and frame).
      await frame.evaluate(() => {
        const w = window as unknown as { __seen: { added: number; loaded: number }[] };
        w.__seen = [];
        const known = new WeakSet<Element>();
        new MutationObserver(() => {
          for (const img of document.querySelectorAll<HTMLImageElement>('.turn .stage img')) {
            if (known.has(img)) continue;
            known.add(img);
            const rec = { added: Date.now(), loaded: 0 };
            w.__seen.push(rec);
            if (img.complete && img.naturalWidth) rec.loaded = Date.now();
            else img.addEventListener('load', () => (rec.loaded = Date.now()), { once: true });
          }
        }).observe(document.body, { subtree: true, childList: true });
      });
      /** One capture: keypress until the new image is shown at the screen's size. */
      const captureOnce = async () => {
        const before = await shown();
        // Keys go to the workbench, as a user's would.
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        const t0 = performance.now();
        const pressedAt = Date.now();
        await page.keyboard.press('Control+Alt+Shift+9');
        await frame.waitForFunction(
          ({ n, w }) => {
            const imgs = document.querySelectorAll<HTMLImageElement>('.turn .stage img');
            const last = imgs[imgs.length - 1];
            // Shown at the screen's size (a smaller preview's naturalWidth is less).
            return imgs.length > n && !!last && last.complete && last.naturalWidth > 0 && last.getAttribute('width') === String(w);
          },
          { n: before, w: SCREEN.width },
          { polling: 'raf', timeout: 15_000 },
        );
        const ms = performance.now() - t0;
        const seen = await frame.evaluate(() => (window as unknown as { __seen: { added: number; loaded: number }[] }).__seen.at(-1)!);
        return { ms, pressedAt, addedAt: seen.added, loadMs: seen.loaded - seen.added };
      };
      console.log(`  first capture (loads the native library) ${(await captureOnce()).ms.toFixed(1)} ms`);
      const phases = [
        // A user's captures are seconds apart: by then the one before has written its lossless PNG
        // and model copy (~260 ms of CPU, from 200 ms after it was stored) and its history entry.
        { name: 'one at a time', gapMs: SETTLE_MS, runs: RUNS, budgeted: true },
        // Back to back, each capture competes with the one before's background work.
        { name: 'back to back', gapMs: 0, runs: BACK_TO_BACK_RUNS, budgeted: false },
      ];
      const results = [];
      for (const phase of phases) {
        const runs = [];
        for (let i = 0; i < phase.runs; i++) {
          await new Promise((r) => setTimeout(r, phase.gapMs));
          runs.push(await captureOnce());
        }
        results.push({ phase, runs });
      }
      const hostLog = exthostLog(server, 400, 'InternVL Lens');
      mkdirSync(join(REPO_ROOT, 'test-results', 'bench'), { recursive: true });
      writeFileSync(join(REPO_ROOT, 'test-results', 'bench', 'capture-host.log'), hostLog);
      // One line per capture, in order; the first is the warm-up.
      const host = hostLog.split('\n').filter((l) => l.includes('captured screen-')).slice(1);
      const rows = [];
      let offset = 0;
      for (const { phase, runs } of results) {
        const lines = host.slice(offset, offset + runs.length);
        offset += runs.length;
        const e2e = runs.map((r) => r.ms);
        console.log(`\n${phase.name} (${phase.gapMs} ms after the one before was shown):`);
        console.log(`keypress → image visible in the chat  ${stats(e2e)}${phase.budgeted ? `  (budget ${BUDGET_MS} ms)` : ''}`);
        console.log(`  keypress → image element in the chat ${stats(runs.map((r) => r.addedAt - r.pressedAt))}; element → image loaded ${stats(runs.map((r) => r.loadMs))}`);
        const hostMs = (re: RegExp) => lines.map((l) => Number(re.exec(l)?.[1])).filter((n) => Number.isFinite(n));
        const captureMs = hostMs(/capture (\d+) ms/);
        const storeMs = hostMs(/store (\d+) ms/);
        console.log(`  in the extension host: capture ${stats(captureMs)}; store ${stats(storeMs)}`);
        // The log line's own timestamp (written once the capture is stored) splits the rest of the way.
        const storedAt = lines.map((l) => Date.parse(/^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)/.exec(l)?.[1] ?? ''));
        if (storedAt.length === runs.length && captureMs.length === runs.length && storedAt.every((t) => Number.isFinite(t))) {
          const toCommand = storedAt.map((t, k) => t - (captureMs[k]! + storeMs[k]!) - runs[k]!.pressedAt);
          const toElement = storedAt.map((t, k) => runs[k]!.addedAt - t);
          console.log(`  keypress → command runs ${stats(toCommand)}; stored → image element in the chat ${stats(toElement)}`);
        }
        const median = [...e2e].sort((a, b) => a - b)[Math.floor(e2e.length / 2)]!;
        if (phase.budgeted) {
          rows.push({ name: 'capture: keypress → image visible in the chat (median)', value: median, unit: 'ms', budget: BUDGET_MS, note: `1920×1080 Xvfb, real code-server; captures ${SETTLE_MS / 1000} s apart` });
          console.log(median <= BUDGET_MS ? `within budget: median ${median.toFixed(0)} ms ≤ ${BUDGET_MS} ms` : `OVER BUDGET: median ${median.toFixed(0)} ms > ${BUDGET_MS} ms`);
        } else {
          rows.push({ name: 'capture: the same, back to back (median)', value: median, unit: 'ms', budget: Number.NaN, kind: 'info' as const, note: "each capture competes with the one before's background PNG and model copy" });
        }
      }
      reportBench('capture', rows);
    } finally {
      await browser.close();
      await server.stop();
    }
  } finally {
    await screenBrowser.close();
    await x.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
