// Zoom-in refine in the chat, below the UI: the real llama-server on the tiny scripted grounding
// model, the real attachment store, Conversation and history store. A locate preset's answer over
// an image the grid shrinks is followed by a second pass per box on its window; the scripted
// model's second answer lands in that window; the turn keeps both (refined shown, first pass
// carried as `coarse`), its stats say what the passes cost, and the history keeps it all.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AttachmentStore } from '../../src/chat/attachments';
import { Conversation } from '../../src/chat/conversation';
import { HistoryStore } from '../../src/chat/history';
import { shownRegions } from '../../src/chat/records';
import { turnView } from '../../src/chat/viewModel';
import { LocalEngine } from '../../src/engine/local/localEngine';
import { presetPrompt } from '../../src/grounding';
import { pixelCoordinates } from '../../src/images';
import { refineWindow } from '../../src/images/refine';
import { encodePng, solidImage } from '../fixtures/png';
import { testLlamaServer, tinyModel } from './support';

const dir = mkdtempSync(join(tmpdir(), 'lens-chat-refine-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('chat: zoom-in refine after a locate preset', () => {
  const grounding = tinyModel('grounding');
  const engine = new LocalEngine({
    server: testLlamaServer,
    settings: () => ({ modelPath: grounding.modelPath, mmprojPath: grounding.mmprojPath, contextSize: 4096, gpuLayers: 0, threads: 2, idleUnloadMinutes: 0 }),
    log: () => undefined,
  });
  after(() => engine.dispose());

  it('refines each box on its window, keeps the first pass, reports the cost, and the history keeps both', async () => {
    const store = new AttachmentStore(join(dir, 'attachments'), { maxTiles: () => 2 });
    const history = new HistoryStore(join(dir, 'history'), store.modelDir, () => undefined);
    // 2400×1350 on 2 tiles: shrunk 3× on its more shrunk side, so `auto` refines.
    const image = await store.add(encodePng(2400, 1350, solidImage(2400, 1350, [230, 230, 230, 255])), 'screen.png');
    const logs: string[] = [];
    const conversation = new Conversation({
      engine: () => engine,
      chatOptions: () => ({ maxTokens: 256, temperature: 0 }),
      log: (m) => logs.push(m),
      store: history,
      refine: () => ({ mode: 'auto', maxTiles: 2, outDir: store.modelDir }),
    });
    const { question, prompt } = presetPrompt('locate', 'the Save button');
    const turn = await conversation.ask(question, [image], { prompt, refine: true });
    assert.equal(turn.status, 'done', turn.error?.message);
    assert.equal(turn.answer, grounding.answer);
    const t = image.model.transform;
    assert.deepEqual(
      turn.regions.map((r) => pixelCoordinates(t, r)),
      [
        [240, 270, 720, 540],
        [1200, 135, 1560, 338],
        [1680, 810, 2160, 1283],
      ],
    );
    // Two windows are seen sharper than the whole image; the large third box's is not.
    assert.equal(turn.refined?.length, 3);
    assert.equal(turn.refined![2], null);
    for (const i of [0, 1]) {
      const w = refineWindow(t, turn.regions[i]!, 2)!;
      const [x1, y1, x2, y2] = pixelCoordinates(t, turn.refined![i]!);
      assert.ok(x1! >= w.left && y1! >= w.top && x2! <= w.left + w.width && y2! <= w.top + w.height, `refined box ${i} lands in its window`);
      assert.equal(turn.refined![i]!.label, turn.regions[i]!.label, 'the first pass label (and colour) kept');
    }
    // Box 0's window is (0, 0, 1440, 810): the script's first box, 0..1000 of it.
    assert.deepEqual(pixelCoordinates(t, turn.refined![0]!), [144, 162, 432, 324]);
    assert.match(turn.stats!, /refined 2 of 2 \(zoom-in passes: \+[\d,]+ prompt tokens, [\d,]+ of them image, \+\d+\.\d s\)/);
    // The view: refined regions, the first pass as `coarse`.
    const view = turnView(turn, { uri: (p) => p, inline: () => undefined });
    assert.deepEqual(view.regions[0]!.kind === 'box' && view.regions[0]!.pixels, [144, 162, 432, 324]);
    assert.deepEqual(view.regions[0]!.coarse, { kind: 'box', box: turn.regions[0]!.kind === 'box' ? turn.regions[0]!.box : null });
    assert.equal(view.regions[2]!.coarse, undefined);
    // Stored and read back whole.
    await conversation.flush();
    const loaded = await history.load(conversation.id);
    const back = loaded!.turns[0]!;
    assert.deepEqual([back.refine, back.refined, back.stats], [true, turn.refined, turn.stats]);
    assert.deepEqual(shownRegions(back), shownRegions(turn));
  });
});
