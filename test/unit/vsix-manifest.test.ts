// The manifest activates the extension only on specific events, and .vscodeignore ships by
// allow-list (everything else, sources, tests, maps, stays out; the VSIX itself is checked in
// test/e2e/vsix.test.ts).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  activationEvents?: string[];
  contributes: { commands: { command: string }[]; views: Record<string, { id: string }[]> };
};

describe('activation and packaging rules', () => {
  it('activates on specific events only: never on startup', () => {
    const events = manifest.activationEvents ?? [];
    const broad = events.filter((e) => e === '*' || e === 'onStartupFinished' || e.startsWith('workspaceContains:'));
    assert.deepEqual(broad, [], 'no "*", onStartupFinished or workspaceContains');
    // VS Code derives onCommand/onView events from `contributes`; anything listed must be as narrow.
    for (const e of events) assert.match(e, /^(onCommand|onView|onWebviewPanel|onUri|onLanguage|onCustomEditor):\S+$/, e);
    assert.ok(manifest.contributes.commands.length > 0 && Object.values(manifest.contributes.views).flat().length > 0, 'commands and views activate it');
  });

  it('.vscodeignore excludes everything, then allows the manifest, media and the built bundles', () => {
    const lines = readFileSync(join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '**', 'the first rule excludes everything');
    const allowed = lines.slice(1);
    for (const l of allowed) assert.ok(l.startsWith('!'), `${l} re-includes (nothing else is needed after **)`);
    assert.ok(allowed.includes(`!${manifest.main.replace(/^\.\//, '')}`), 'the host bundle ships');
    const risky = allowed.filter((l) => /\.(ts|map)$|^(src|test|webview|bench|scripts)\b|^node_modules/.test(l.slice(1)) || l === '!**');
    assert.deepEqual(risky, [], 'no sources, tests, maps or the root node_modules');
  });
});
