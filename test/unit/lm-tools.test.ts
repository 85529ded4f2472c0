// The language-model tools' inputs (src/protocol/lmTools.ts) and image references
// (src/tools/imageRefs.ts): package.json declares exactly what the code validates; hostile inputs
// (huge strings, wrong types, extra keys, paths out of the workspace, links, missing files) get one
// sentence each and never anything else; what the validator lets through fits the JSON Schema the
// model was shown.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import Ajv from 'ajv';
import fc from 'fast-check';
import { LATEST_IMAGE, LM_TOOL_CONTRIBUTIONS, LM_TOOL_INPUT_SCHEMAS, LM_TOOLS, MAX_ASK_IMAGES, parseToolInput, ToolInputError, type LmToolName } from '../../src/protocol/lmTools';
import { userErrorSentence } from '../../src/protocol/remedy';
import { locateImageFile, parseImageRef } from '../../src/tools/imageRefs';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { languageModelTools: unknown[] } };
const TOOL_NAMES = Object.values(LM_TOOLS);

/** The sentence a ToolInputError carries (fails on any other outcome). */
function refusal(tool: LmToolName, input: unknown): string {
  try {
    parseToolInput(tool, input);
  } catch (err) {
    assert.ok(err instanceof ToolInputError, `${tool} ${JSON.stringify(input)?.slice(0, 100)}: ${String(err)}`);
    assert.ok(err.message.length < 800, `short: ${err.message.length} chars`);
    return err.message;
  }
  assert.fail(`${tool} took ${JSON.stringify(input)?.slice(0, 200)}`);
}

describe('language-model tools: the manifest', () => {
  it('package.json declares the tools exactly as src/protocol/lmTools.ts says', () => {
    assert.deepEqual(pkg.contributes.languageModelTools, JSON.parse(JSON.stringify(LM_TOOL_CONTRIBUTIONS)));
  });

  it('each can be referenced as #name, has descriptions, and an object schema with few required fields', () => {
    assert.deepEqual(
      LM_TOOL_CONTRIBUTIONS.map((t) => t.toolReferenceName),
      ['lensLocate', 'lensAsk', 'lensCapture'],
    );
    for (const t of LM_TOOL_CONTRIBUTIONS) {
      assert.equal(t.canBeReferencedInPrompt, true);
      assert.match(t.name, /^(?!copilot_|vscode_)[\w-]+$/, 'a name VS Code takes');
      assert.ok(t.displayName && t.modelDescription.length > 80 && t.userDescription);
      const schema = t.inputSchema as { type: string; required?: string[]; properties: Record<string, { description?: string; type?: string }> };
      assert.equal(schema.type, 'object');
      assert.ok((schema.required ?? []).length <= 1, `${t.name}: at most one required field`);
      for (const [k, p] of Object.entries(schema.properties)) if (k !== 'region') assert.ok(p.description, `${t.name}.${k} is described`);
      new Ajv({ strict: true }).compile(schema);
    }
  });
});

describe('language-model tools: inputs', () => {
  it('takes the usual inputs, filling in the defaults', () => {
    assert.deepEqual(parseToolInput(LM_TOOLS.locate, { target: ' the Save button ' }), { target: 'the Save button', image: LATEST_IMAGE, mode: 'box' });
    assert.deepEqual(parseToolInput(LM_TOOLS.locate, { target: 'x', image: 'shots/a.png', mode: 'all' }), { target: 'x', image: 'shots/a.png', mode: 'all' });
    assert.deepEqual(parseToolInput(LM_TOOLS.ask, { question: 'What is this?' }), { question: 'What is this?', images: [LATEST_IMAGE] });
    assert.deepEqual(parseToolInput(LM_TOOLS.ask, { question: 'q', images: 'a.png' }), { question: 'q', images: ['a.png'] }, 'one image as a string');
    assert.deepEqual(parseToolInput(LM_TOOLS.capture, {}), { source: 'screen' });
    assert.deepEqual(parseToolInput(LM_TOOLS.capture, { source: 'region', monitor: 1, region: { x: 0, y: 5, width: 10, height: 20 } }), {
      source: 'region',
      monitor: 1,
      region: { x: 0, y: 5, width: 10, height: 20 },
    });
    assert.deepEqual(parseToolInput(LM_TOOLS.capture, { source: 'window', window: 'Firefox' }), { source: 'window', window: 'Firefox' });
  });

  it('refuses what is missing or malformed with a sentence naming the field', () => {
    assert.match(refusal(LM_TOOLS.locate, {}), /lens_locate needs "target": What to find/);
    assert.match(refusal(LM_TOOLS.locate, { target: '   ' }), /"target" is empty/);
    assert.match(refusal(LM_TOOLS.locate, { target: 42 }), /"target" must be a string/);
    assert.match(refusal(LM_TOOLS.locate, { target: 'x', mode: 'everything' }), /"mode" must be one of "box", "point", "all"/);
    assert.match(refusal(LM_TOOLS.ask, { images: ['a.png'] }), /lens_ask needs "question"/);
    assert.match(refusal(LM_TOOLS.ask, { question: 'q', images: [] }), /"images" is empty/);
    assert.match(refusal(LM_TOOLS.ask, { question: 'q', images: Array(MAX_ASK_IMAGES + 1).fill('a.png') }), /at most 4/);
    assert.match(refusal(LM_TOOLS.ask, { question: 'q', images: [1, 2] }), /"images" must be a list|must be a string/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'camera' }), /"source" must be one of/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'window' }), /needs "window"/);
    assert.match(refusal(LM_TOOLS.capture, { window: 'Firefox' }), /only for source "window"/);
    assert.match(refusal(LM_TOOLS.capture, { region: { x: 0, y: 0, width: 5, height: 5 } }), /only for source "region"/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'allScreens', monitor: 0 }), /"monitor" is only for/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'region', region: { x: -1, y: 0, width: 5, height: 5 } }), /"region" must be|x/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'region', region: { x: 0.5, y: 0, width: 5, height: 5 } }), /region/);
    assert.match(refusal(LM_TOOLS.capture, { source: 'region', region: { x: 0, y: 0, width: 5, height: 5, evil: 1 } }), /region/);
    assert.match(refusal(LM_TOOLS.capture, { monitor: 1e300 }), /monitor/);
  });

  it('refuses arguments that are not an object, and keys it does not have (prototype keys too)', () => {
    for (const input of [null, undefined, 'target', 7, [], [{ target: 'x' }], true]) {
      for (const tool of TOOL_NAMES) assert.match(refusal(tool, input), new RegExp(`^${tool} takes an object of arguments`));
    }
    assert.match(refusal(LM_TOOLS.locate, { target: 'x', imagePath: 'a.png' }), /has no argument "imagePath"; it takes "target", "image", "mode"/);
    assert.match(refusal(LM_TOOLS.locate, JSON.parse('{"target":"x","__proto__":{"polluted":1}}')), /has no argument "__proto__"/);
    assert.match(refusal(LM_TOOLS.capture, { constructor: 'x' }), /has no argument "constructor"/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses huge strings quickly, and quotes at most a little of them back', () => {
    const huge = 'A'.repeat(5_000_000);
    const started = performance.now();
    for (const [tool, input] of [
      [LM_TOOLS.locate, { target: huge }],
      [LM_TOOLS.locate, { target: 'x', image: huge }],
      [LM_TOOLS.ask, { question: huge }],
      [LM_TOOLS.ask, { question: 'q', images: [huge] }],
      [LM_TOOLS.capture, { source: 'window', window: huge }],
      [LM_TOOLS.locate, { target: 'x', [huge]: 1 }],
      [LM_TOOLS.locate, huge],
    ] as const) {
      const message = refusal(tool, input);
      assert.match(message, /at most|no argument|object of arguments/);
    }
    assert.ok(performance.now() - started < 5000, 'linear');
  });

  it('generated inputs: only ToolInputErrors, and whatever passes fits the JSON Schema the model sees', () => {
    const ajv = new Ajv({ strict: false });
    const validators = Object.fromEntries(TOOL_NAMES.map((t) => [t, ajv.compile(LM_TOOL_INPUT_SCHEMAS[t])]));
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('latest', 'box', 'point', 'all', 'screen', 'allScreens', 'window', 'region', '', ' ', 'a.png', '../x.png'),
      fc.integer({ min: -3, max: 5000 }),
      fc.double(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 6 }),
      fc.record({ x: fc.integer({ min: -1, max: 99 }), y: fc.integer({ min: 0, max: 99 }), width: fc.integer({ min: 0, max: 99 }), height: fc.integer({ min: 0, max: 99 }) }),
    );
    const keys = fc.constantFrom('target', 'image', 'mode', 'question', 'images', 'source', 'monitor', 'window', 'region', 'other');
    fc.assert(
      fc.property(fc.constantFrom(...TOOL_NAMES), fc.dictionary(keys, value, { maxKeys: 4 }), (tool, input) => {
        let parsed: unknown;
        try {
          parsed = parseToolInput(tool, input);
        } catch (err) {
          assert.ok(err instanceof ToolInputError, String(err));
          return;
        }
        assert.ok(validators[tool]!(parsed), `${tool} ${JSON.stringify(input)} → ${JSON.stringify(parsed)}: ${JSON.stringify(validators[tool]!.errors)}`);
      }),
      { numRuns: 3000, seed: 20261203 },
    );
  });
});

describe('language-model tools: image references', () => {
  const base = mkdtempSync(join(tmpdir(), 'lm-refs-'));
  const workspace = join(base, 'ws');
  const storage = join(base, 'storage');
  const elsewhere = join(base, 'elsewhere');
  for (const d of [join(workspace, 'shots'), storage, elsewhere]) mkdirSync(d, { recursive: true });
  writeFileSync(join(workspace, 'shots', 'a.png'), 'png');
  writeFileSync(join(storage, 'cap.png'), 'png');
  writeFileSync(join(elsewhere, 'secret.png'), 'png');
  symlinkSync(join(elsewhere, 'secret.png'), join(workspace, 'link.png'));
  const roots = { workspaceFolders: [workspace], own: [storage] };
  after(() => rmSync(base, { recursive: true, force: true }));

  it('"latest" in any case, relative paths from the first folder, absolute paths, file: URIs', () => {
    assert.deepEqual(parseImageRef('latest', roots), { kind: 'latest' });
    assert.deepEqual(parseImageRef(' LATEST ', roots), { kind: 'latest' });
    assert.deepEqual(parseImageRef('shots/a.png', roots), { kind: 'file', path: join(workspace, 'shots', 'a.png') });
    assert.deepEqual(parseImageRef('./shots/../shots/a.png', roots), { kind: 'file', path: join(workspace, 'shots', 'a.png') });
    assert.deepEqual(parseImageRef(join(elsewhere, 'secret.png'), roots), { kind: 'file', path: join(elsewhere, 'secret.png') });
    assert.deepEqual(parseImageRef(pathToFileURL(join(workspace, 'shots', 'a.png')).href, roots), { kind: 'file', path: join(workspace, 'shots', 'a.png') });
  });

  it('refuses relative paths out of the folder, other schemes, NUL, bad file: URIs, and relative paths without a folder', () => {
    const refused = (ref: string, r = roots) => {
      assert.throws(() => parseImageRef(ref, r), (err: unknown) => err instanceof ToolInputError && err.message.length < 300);
      try {
        parseImageRef(ref, r);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    };
    assert.match(refused('../elsewhere/secret.png'), /leads out of the workspace folder/);
    assert.match(refused('shots/../../../etc/passwd'), /leads out of the workspace folder/);
    assert.match(refused('https://example.com/a.png'), /is a https: URI; InternVL Lens reads local files only/);
    assert.match(refused('vscode-remote://host/a.png'), /local files only/);
    assert.match(refused('file://remote-host/a.png'), /not a valid file: URI/);
    assert.match(refused('a\0.png'), /NUL/);
    assert.match(refused('a.png', { workspaceFolders: [], own: [] }), /no folder is open/);
  });

  it('files in the workspace or Lens storage need no permission; outside, or through a link out, they do; missing files are refused', async () => {
    assert.deepEqual(await locateImageFile(join(workspace, 'shots', 'a.png'), roots), { path: join(workspace, 'shots', 'a.png'), needsPermission: false });
    assert.deepEqual(await locateImageFile(join(storage, 'cap.png'), roots), { path: join(storage, 'cap.png'), needsPermission: false });
    assert.deepEqual(await locateImageFile(join(elsewhere, 'secret.png'), roots), { path: join(elsewhere, 'secret.png'), needsPermission: true });
    assert.deepEqual(await locateImageFile(join(workspace, 'link.png'), roots), { path: join(elsewhere, 'secret.png'), needsPermission: true }, 'a link is followed');
    await assert.rejects(locateImageFile(join(workspace, 'missing.png'), roots), (err: unknown) => err instanceof ToolInputError && /There is no file .*missing\.png/.test(err.message));
    await assert.rejects(locateImageFile(join(workspace, 'shots', 'a.png', 'x.png'), roots), ToolInputError);
    // A folder named like the workspace but beside it is not inside it.
    mkdirSync(`${workspace}-evil`);
    writeFileSync(join(`${workspace}-evil`, 'b.png'), 'png');
    assert.equal((await locateImageFile(join(`${workspace}-evil`, 'b.png'), roots)).needsPermission, true);
  });
});

describe('language-model tools: errors in one sentence', () => {
  it('says the message and what the user can do about it', () => {
    assert.equal(
      userErrorSentence({ message: 'No model is set up', remedies: [{ kind: 'downloadModel' }, { kind: 'useExistingModel' }, { kind: 'openSetting', setting: 'internvlLens.modelPath' }] }),
      'No model is set up. The user can fix this with InternVL Lens\'s "Download Model…" or "Use Existing Model Files…" or the setting internvlLens.modelPath.',
    );
    assert.equal(userErrorSentence({ message: 'llama-server crashed.', remedies: [{ kind: 'showLog' }] }), 'llama-server crashed. The InternVL Lens log (Output panel) says more.');
    assert.equal(userErrorSentence({ message: 'Bad image', remedies: [] }), 'Bad image.');
    assert.equal(userErrorSentence({ message: 'Paused', remedies: [{ kind: 'retry' }] }), 'Paused.');
  });
});
