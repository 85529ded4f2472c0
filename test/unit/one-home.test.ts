// One fact, one home: where a fact must also stand somewhere the code cannot import it from
// (package.json, the packaging scripts), this keeps the copy equal to its home.
//   command ids       src/commands/ids.ts          ↔ contributes.commands, menus, keybindings, walkthrough links
//   setting defaults  src/config.ts DEFAULTS       ↔ contributes.configuration
//   image extensions  src/images/formats.ts        ↔ the Explorer / editor-title menus' `when`
//   VSIX targets      src/engine/local/runtimes/release.ts ↔ scripts/runtime-packages.mjs
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/commands/ids';
import { DEFAULTS, SECTION, Settings } from '../../src/config';
import { EXPLAINABLE_EXTENSIONS, EXPLAINABLE_WHEN_CLAUSE, formatOfMime, hasExtension, IMAGE_EXTENSIONS, IMAGE_FORMAT_INFO, IMAGE_FORMATS } from '../../src/images/formats';
import { probeImage } from '../../src/images/probe';
import { TARGETS } from '../../src/engine/local/runtimes/release';
import { TARGETS as PACKAGED_TARGETS } from '../../scripts/runtime-packages.mjs';
import { encodePng } from '../fixtures/png';

const ROOT = join(__dirname, '..', '..');
interface MenuItem {
  command: string;
  when?: string;
}
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  activationEvents?: string[];
  contributes: {
    commands: { command: string }[];
    menus: Record<string, MenuItem[]>;
    keybindings: { command: string }[];
    configuration: { properties: Record<string, { default: unknown }> };
    walkthroughs: { steps: { description: string; completionEvents?: string[] }[] }[];
  };
};
const ids = new Set<string>(Object.values(COMMANDS));

describe('one fact, one home', () => {
  it('package.json contributes exactly the commands of src/commands/ids.ts', () => {
    assert.deepEqual(manifest.contributes.commands.map((c) => c.command).sort(), [...ids].sort());
  });

  it('every command a menu, keybinding, walkthrough link or event names is in the table', () => {
    const named: string[] = [
      ...Object.values(manifest.contributes.menus).flatMap((items) => items.map((i) => i.command)),
      ...manifest.contributes.keybindings.map((k) => k.command),
      ...manifest.contributes.walkthroughs.flatMap((w) => w.steps.flatMap((s) => [...s.description.matchAll(/\(command:([\w.]+)/g)].map((m) => m[1]!))),
      ...[...(manifest.activationEvents ?? []), ...manifest.contributes.walkthroughs.flatMap((w) => w.steps.flatMap((s) => s.completionEvents ?? []))]
        .filter((e) => e.startsWith('onCommand:'))
        .map((e) => e.slice('onCommand:'.length)),
    ];
    assert.ok(named.length > 20, `found the manifest's command references (${named.length})`);
    assert.deepEqual(named.filter((c) => !ids.has(c)), [], 'commands the manifest names that the extension does not register');
  });

  it("package.json's setting defaults are src/config.ts's, setting for setting", () => {
    const properties = manifest.contributes.configuration.properties;
    const prefix = `${SECTION}.`;
    assert.deepEqual(Object.keys(properties).map((k) => k.slice(prefix.length)).sort(), Object.keys(DEFAULTS).sort());
    for (const [key, value] of Object.entries(DEFAULTS)) assert.deepEqual(properties[prefix + key]!.default, value, `${prefix}${key}`);
    // And every full name in Settings is a real setting.
    for (const name of Object.values(Settings)) assert.ok(name in properties, `${name} is contributed`);
  });

  it("the Explorer's and editor title's Explain this diagram shows for exactly the formats the code takes", () => {
    const whens = Object.entries(manifest.contributes.menus)
      .filter(([menu]) => menu === 'explorer/context' || menu === 'editor/title/context')
      .flatMap(([, items]) => items.filter((i) => i.command === COMMANDS.explainImage).map((i) => i.when));
    assert.equal(whens.length, 2);
    for (const when of whens) assert.equal(when, EXPLAINABLE_WHEN_CLAUSE);
    // The clause, read as VS Code reads it, takes each extension (any case) and nothing else.
    const re = new RegExp(/\/(.*)\/i$/.exec(EXPLAINABLE_WHEN_CLAUSE)![1]!, 'i');
    for (const ext of EXPLAINABLE_EXTENSIONS) assert.ok(re.test(`.${ext.toUpperCase()}`) && hasExtension(`a/b.${ext}`, EXPLAINABLE_EXTENSIONS), ext);
    for (const other of ['.tiff', '.pdf', '.jpgx', '.png.txt', '.']) assert.ok(!re.test(other) && !hasExtension(`a${other}`, EXPLAINABLE_EXTENSIONS), other);
  });

  it('each image format has one MIME type and the extensions listed; the header probe names formats of the list', () => {
    assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['bmp', 'gif', 'jpeg', 'jpg', 'png', 'webp']);
    for (const f of IMAGE_FORMATS) assert.equal(formatOfMime(IMAGE_FORMAT_INFO[f].mime), f);
    assert.equal(formatOfMime('image/svg+xml'), undefined);
    assert.equal(probeImage(encodePng(3, 2, new Uint8Array(24)), 'x.png').format, 'png');
  });

  it('the packaging scripts publish the targets the runtime chooser knows', () => {
    assert.deepEqual([...PACKAGED_TARGETS], [...TARGETS]);
  });
});
