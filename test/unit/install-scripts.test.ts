// Install scripts: every package in package-lock.json that has one is decided in package.json's
// `allowScripts` (npm ≥ 11.16 reads it: `true` runs the script, `false` skips it), no decision is
// stale, and the scripts the project relies on really ran on this install.
//
// The decisions, and why:
//   esbuild             true   its postinstall checks the platform binary and puts it at bin/esbuild; `npm run build` needs it
//   node-llama-cpp      false  would download or build llama.cpp bindings; only its llama.cpp source bundle is used (scripts/build-llama-server.sh builds llama-server)
//   @vscode/vsce-sign   false  fetches a signing binary; vsce uses it only to sign or verify, never to package
//   keytar              false  vsce's optional credential store for publishing (a native build); never used here
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../e2e/harness';

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
}
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
const allowScripts = manifest.allowScripts ?? {};

/** Packages with an install script, as `name@version`, from the lockfile (the same for every platform). */
const withScripts = Object.entries(lock.packages)
  .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
  .map(([path, entry]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: entry.version ?? '' }));

/** The decision for a package: a name-only key, or one pinned to its exact version. */
function decision(name: string, version: string): boolean | undefined {
  return allowScripts[`${name}@${version}`] ?? allowScripts[name];
}

describe('install scripts', () => {
  it('every package with an install script has a decision in allowScripts', () => {
    assert.ok(withScripts.length > 0, 'the lockfile lists install scripts');
    const undecided = withScripts.filter((p) => typeof decision(p.name, p.version) !== 'boolean').map((p) => `${p.name}@${p.version}`);
    assert.deepEqual(undecided, [], `decide these in package.json "allowScripts" (true runs the script, false skips it; then say why in ${__filename})`);
  });

  it('no decision is left for a package that is gone or has no install script any more', () => {
    const keyName = (key: string) => key.replace(/^(@?[^@]+)@.*$/, '$1');
    const stale = Object.keys(allowScripts).filter((key) => !withScripts.some((p) => p.name === keyName(key) && (key === p.name || key === `${p.name}@${p.version}`)));
    assert.deepEqual(stale, [], 'stale allowScripts entries (npm install-scripts prune removes them)');
  });

  it('esbuild, whose script the build relies on, ran it: bin/esbuild is the native binary of the locked version', () => {
    const esbuild = withScripts.find((p) => p.name === 'esbuild');
    assert.ok(esbuild, 'esbuild is locked with its install script');
    assert.equal(decision(esbuild.name, esbuild.version), true);
    const bin = join(REPO_ROOT, 'node_modules', 'esbuild', 'bin', process.platform === 'win32' ? 'esbuild.exe' : 'esbuild');
    if (process.platform !== 'win32') {
      // The package ships a JavaScript shim there; its postinstall replaces it with the platform's binary.
      const head = Buffer.alloc(2);
      const fd = openSync(bin, 'r');
      readSync(fd, head, 0, 2, 0);
      closeSync(fd);
      assert.notEqual(head.toString('latin1'), '#!', `${bin} is still the JavaScript shim: esbuild's postinstall did not run`);
    }
    assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), esbuild.version);
  });
});
