// Activation in a real VS Code (code-server) as VS Code measures it ("Developer: Show Running
// Extensions": code loading + activate()), over several window reloads, and the size of the
// host bundle it loads.
//   node scripts/build.mjs --production && node scripts/package.mjs && node --import tsx bench/activation.bench.ts
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activationTimeMs, launchBrowser, newWorkbenchPage, REPO_ROOT, runCommand, startCodeServer, webviewViewFrame } from '../test/e2e/harness';
import { reportBench } from './report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ACTIVATION_BUDGET_MS = 500;
const HOST_BUNDLE_BUDGET_KIB = 512;

async function main(): Promise<void> {
  const hostBundleKiB = statSync(join(REPO_ROOT, 'dist', 'extension.js')).size / 1024;
  const workspace = mkdtempSync(join(tmpdir(), 'lens-activation-bench-'));
  const server = await startCodeServer({ workspace, vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix') });
  const browser = await launchBrowser();
  const times: number[] = [];
  try {
    const page = await newWorkbenchPage(browser, server);
    for (let i = 0; i < RUNS; i++) {
      if (i > 0) {
        // A fresh extension host: the extension activates again on the next command.
        await runCommand(page, 'Developer: Reload Window');
        await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: 30_000 });
      }
      await runCommand(page, 'InternVL Lens: Open Chat', 30_000);
      await webviewViewFrame(page, 'internvl-lens.internvl-lens', 'internvlLens.chat', 20_000);
      const { ms, startup } = await activationTimeMs(page, 'InternVL Lens');
      if (startup) throw new Error('activated at startup');
      times.push(ms);
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`activation (VS Code's figure, on Open Chat): ${times.join(', ')} ms; median ${median} ms (budget ${ACTIVATION_BUDGET_MS} ms)`);
  console.log(`host bundle dist/extension.js: ${hostBundleKiB.toFixed(0)} KiB (budget ${HOST_BUNDLE_BUDGET_KIB} KiB)`);
  reportBench('activation', [
    { name: `activation in code-server (median of ${RUNS})`, value: median, unit: 'ms', budget: ACTIVATION_BUDGET_MS, note: `min ${sorted[0]} ms, max ${sorted.at(-1)} ms` },
    { name: 'host bundle dist/extension.js', value: Math.round(hostBundleKiB), unit: 'KiB', budget: HOST_BUNDLE_BUDGET_KIB, note: 'loads no native module' },
  ]);
  if (median > ACTIVATION_BUDGET_MS || hostBundleKiB > HOST_BUNDLE_BUDGET_KIB) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
