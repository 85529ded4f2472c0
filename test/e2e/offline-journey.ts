// One local-mode journey, run by offline.test.ts inside a network namespace that has only
// loopback: code-server, Chromium, the extension host and llama-server all start here.
// Explains an image from the Explorer with the tiny grounding model and writes what it saw to
// the JSON file named by argv[2].
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { drawnRegionCount, explorerContextMenu, type LensWorkbench, startLensWorkbench } from './harness';
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
  let lens: LensWorkbench | undefined;
  try {
    lens = await startLensWorkbench('offline', (workspace) => {
      writeFileSync(join(workspace, 'screen.png'), encodePng(640, 400, solidImage(640, 400, [240, 240, 240, 255])));
      mkdirSync(join(workspace, '.vscode'));
      // The test's browser stands in for VS Code's own window; Chromium resolves names and probes
      // IPv6 reachability on its own (its network service), which no flag in CHROMIUM_ARGS stops:
      // it is told that no name resolves, so what is left in the trace is VS Code and the extension.
      return { model: tinyModel('grounding'), viewport: { width: 1280, height: 800 }, browserArgs: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] };
    });
    await lens.openChat(20_000);
    await explorerContextMenu(lens.page, 'screen.png', 'Explain this diagram');
    const frame = await lens.chat();
    const turn = frame.locator('.turn').first();
    await lens.withLogs(turn.and(frame.locator('[data-status="done"]')).waitFor({ timeout: 90_000 }));
    const answer = (await turn.locator('.answer').getAttribute('data-raw')) ?? '';
    const boxes = await drawnRegionCount(turn);
    writeFileSync(out, JSON.stringify({ interfaces, answer, boxes } satisfies OfflineJourneyResult));
  } finally {
    await lens?.close();
  }
}

main(process.argv[2]!).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
