// One local-mode journey, run by offline.test.ts inside a network namespace that has only
// loopback: code-server, Chromium, the extension host and llama-server all start here.
// Explains an image from the Explorer with the tiny grounding model and writes what it saw to
// the JSON file named by argv[2].
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { type CodeServer, drawnRegionCount, explorerContextMenu, exthostLog, launchBrowser, newWorkbenchPage, REPO_ROOT, runCommand, startCodeServer, webviewViewFrame } from './harness';
import { encodePng, solidImage } from '../fixtures/png';
import { tinyModel } from '../integration/support';

export interface OfflineJourneyResult {
  /** Network interfaces this namespace has (from /proc/net/dev). */
  interfaces: string[];
  answer: string;
  boxes: number;
}

async function main(out: string): Promise<void> {
  const interfaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
  const grounding = tinyModel('grounding');
  const workspace = mkdtempSync(join(tmpdir(), 'lens-offline-'));
  writeFileSync(join(workspace, 'screen.png'), encodePng(640, 400, solidImage(640, 400, [240, 240, 240, 255])));
  mkdirSync(join(workspace, '.vscode'));
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startCodeServer({
      workspace,
      settings: { 'internvlLens.modelPath': grounding.modelPath, 'internvlLens.mmprojPath': grounding.mmprojPath, 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2 },
      vsix: join(REPO_ROOT, 'dist', 'internvl-lens.vsix'),
    });
    // The test's browser stands in for VS Code's own window; Chromium resolves names and probes
    // IPv6 reachability on its own (its network service), which no flag in CHROMIUM_ARGS stops:
    // it is told that no name resolves, so what is left in the trace is VS Code and the extension.
    browser = await launchBrowser({ args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
    const page = await newWorkbenchPage(browser, server);
    await runCommand(page, 'InternVL Lens: Open Chat');
    let frame = await webviewViewFrame(page, 'internvl-lens.internvl-lens', 'internvlLens.chat', 20_000);
    await explorerContextMenu(page, 'screen.png', 'Explain this diagram');
    frame = await webviewViewFrame(page, 'internvl-lens.internvl-lens', 'internvlLens.chat', 20_000);
    const turn = frame.locator('.turn').first();
    await turn.and(frame.locator('[data-status="done"]')).waitFor({ timeout: 90_000 }).catch((err: unknown) => {
      console.error(exthostLog(server!, 60, 'InternVL Lens'));
      throw err;
    });
    const answer = (await turn.locator('.answer').getAttribute('data-raw')) ?? '';
    const boxes = await drawnRegionCount(turn);
    writeFileSync(out, JSON.stringify({ interfaces, answer, boxes } satisfies OfflineJourneyResult));
  } finally {
    await browser?.close();
    await server?.stop();
  }
}

main(process.argv[2]!).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
