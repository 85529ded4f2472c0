// Packages dist/ into dist/internvl-lens.vsix (the worker's native runtime is already under
// dist/node_modules, so vsce's own dependency walk is not needed).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
const out = join(root, 'dist', 'internvl-lens.vsix');
const r = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--out', out], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
