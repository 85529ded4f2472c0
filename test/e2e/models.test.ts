// Getting a model in a real VS Code (code-server): Use Existing Model Files… finds the model in a
// Hugging Face cache, sets it up and loads it, and the walkthrough's "Try on the Sample Image"
// answers with boxes; Download Model… reaches a real HTTP server on 127.0.0.1 (HF_ENDPOINT) and
// refuses a file that is not the catalogue's, with nothing configured.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CodeServer, drawnRegionCount, QUICK_INPUT, REPO_ROOT, runCommand, screenshot, useLensWorkbench } from './harness';
import { SCRIPTS } from '../fixtures/scripts';
import { tinyModel } from '../integration/support';
import { type ModelsServer, startModelsServer } from '../integration/modelsServer';

const BOX_COUNT = SCRIPTS.grounding.regions.reduce((n, r) => n + r.boxes.length, 0);
const UNSLOTH = 'models--unsloth--InternVL3-14B-Instruct-GGUF';

/** User settings as the remote side keeps them: machine-scoped ones (the model paths) land in Machine/. */
function userSettings(server: CodeServer): Record<string, unknown> {
  const read = (part: string) => {
    try {
      return JSON.parse(readFileSync(join(server.userDataDir, part, 'settings.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  return { ...read('User'), ...read('Machine') };
}

describe('Models in a real VS Code', () => {
  let models: ModelsServer;
  let hubCache: string;
  const grounding = tinyModel('grounding');
  const lens = useLensWorkbench('models', async (workspace) => {
    // A Hugging Face cache as huggingface_hub leaves it: snapshot files are links to blobs.
    hubCache = mkdtempSync(join(tmpdir(), 'lens-hub-'));
    const snapshot = join(hubCache, UNSLOTH, 'snapshots', '0123abcd');
    mkdirSync(join(hubCache, UNSLOTH, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    copyFileSync(grounding.modelPath, join(hubCache, UNSLOTH, 'blobs', 'aaaa'));
    copyFileSync(grounding.mmprojPath, join(hubCache, UNSLOTH, 'blobs', 'bbbb'));
    symlinkSync('../../blobs/aaaa', join(snapshot, 'InternVL3-14B-Instruct-Q4_K_M.gguf'));
    symlinkSync('../../blobs/bbbb', join(snapshot, 'mmproj-F16.gguf'));
    // The "mirror": the real catalogue's file name, but the tiny file's size.
    models = await startModelsServer();
    models.files.set('/unsloth/InternVL3-14B-Instruct-GGUF/resolve/main/InternVL3-14B-Instruct-Q4_K_M.gguf', { body: readFileSync(grounding.modelPath) });
    return {
      settings: { 'internvlLens.contextSize': 4096, 'internvlLens.threads': 2, 'internvlLens.modelsDirectory': join(workspace, 'models') },
      env: { HF_HUB_CACHE: hubCache, HF_ENDPOINT: models.baseUrl },
    };
  });
  const toast = (text: string | RegExp) => lens.page.locator('.notifications-toasts .notification-toast', { hasText: text });

  after(async () => {
    await models?.close();
  });

  it('Download Model… asks the mirror, and a file that is not the catalogue one is refused with nothing set up', async () => {
    await runCommand(lens.page, 'InternVL Lens: Download Model…', 20_000);
    const pick = lens.page.locator(QUICK_INPUT);
    // The recommendation (from this machine's GPU probes and RAM) comes first, with its reason.
    await pick.locator('.monaco-list-row', { hasText: 'recommended' }).first().waitFor({ timeout: 30_000 });
    assert.match((await pick.locator('.monaco-list-row').first().textContent()) ?? '', /InternVL3-\d+B .*recommended.*(runs entirely on the GPU|runs on the CPU|less than even)/);
    await pick.locator('input.input').fill('InternVL3-14B Q4_K_M');
    await pick.locator('.monaco-list-row', { hasText: 'default' }).first().click();
    await lens.withLogs(toast('not the expected file, so nothing was downloaded').waitFor({ timeout: 30_000 }));
    const data = models.log.filter((r) => r.path.startsWith('/cdn/'));
    assert.deepEqual(data.map((r) => r.range), ['bytes=0-0'], 'only the size probe reached the file');
    assert.equal(userSettings(lens.server)['internvlLens.modelPath'], undefined);
    await lens.page.keyboard.press('Escape');
  });

  it('Use Existing Model Files… finds the model in the Hugging Face cache, loads it, and the sample image gets its boxes', async () => {
    await runCommand(lens.page, 'InternVL Lens: Use Existing Model Files…', 20_000);
    const pick = lens.page.locator(QUICK_INPUT);
    const row = pick.locator('.monaco-list-row', { hasText: 'Hugging Face cache' }).first();
    await row.waitFor({ timeout: 20_000 });
    assert.match((await row.textContent()) ?? '', /mmproj-F16\.gguf/, 'paired with its projector');
    await row.click();
    const ready = toast(/is ready\./);
    await lens.withLogs(ready.waitFor({ timeout: 60_000 }));
    const settings = userSettings(lens.server);
    assert.equal(settings['internvlLens.modelPath'], join(hubCache, UNSLOTH, 'snapshots', '0123abcd', 'InternVL3-14B-Instruct-Q4_K_M.gguf'));
    assert.equal(settings['internvlLens.mmprojPath'], join(hubCache, UNSLOTH, 'snapshots', '0123abcd', 'mmproj-F16.gguf'));
    // The toast names the model (the GGUF's general.name), not its file.
    assert.doesNotMatch((await ready.textContent()) ?? '', /\.gguf is ready/);
    await ready.locator('.monaco-button', { hasText: 'Try on the Sample Image' }).click();

    const frame = await lens.chat();
    await frame.locator('.turn[data-status="done"]').waitFor({ timeout: 60_000 });
    assert.equal(await frame.locator('.question-text').textContent(), 'Locate element: the Save button');
    assert.match((await frame.locator('figcaption').textContent()) ?? '', /640×400/);
    assert.equal(await drawnRegionCount(frame), BOX_COUNT);
    await screenshot(lens.page, 'models-sample-image');
  });

  it('the User settings tab shows every InternVL Lens setting (model paths, engine and remote ones too), under the heading "InternVL Lens"', async () => {
    const declared = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, unknown> } } }).contributes.configuration.properties);
    await runCommand(lens.page, 'Preferences: Open User Settings', 20_000);
    const search = lens.page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor textarea').first();
    await search.waitFor({ timeout: 20_000 });
    await search.fill('internvlLens');
    const count = lens.page.locator('.settings-editor .settings-count-widget');
    await lens.page.waitForFunction((n) => new RegExp(`^${n} Settings? Found`).test(document.querySelector('.settings-editor .settings-count-widget')?.textContent ?? ''), declared.length, { timeout: 20_000 }).catch(async (err: unknown) => {
      throw new Error(`the User tab shows "${await count.textContent()}" for ${declared.length} declared settings: ${(err as Error).message}`);
    });
    // The heading in the table of contents is the configuration's title (the per-setting label is VS Code's wordified key, "Internvl Lens:").
    assert.ok((await lens.page.$$eval('.settings-editor .settings-toc-entry', (es) => es.map((e) => e.textContent))).includes('InternVL Lens'));
    await screenshot(lens.page, 'models-settings-user-tab');
    await lens.page.keyboard.press('Control+W');
  });

  it('Try on the Sample Image starts its own chat: the sample does not join the conversation that was open', async () => {
    const frame = await lens.chat();
    const first = await frame.locator('.turn').first().getAttribute('data-turn-id');
    await runCommand(lens.page, 'InternVL Lens: Try on the Sample Image', 20_000);
    // One turn, a new one, answered: the sample did not join the conversation that was open.
    await frame.waitForFunction(
      (old) => {
        const turns = [...document.querySelectorAll<HTMLElement>('.turn')];
        return turns.length === 1 && turns[0]!.dataset.turnId !== old && turns[0]!.dataset.status === 'done';
      },
      first,
      { timeout: 60_000 },
    );
  });
});
