// Where one of the bundle's own entry points lives, for starting it as a child process or a worker
// thread. Built, every entry point sits in dist/ next to the bundle that asks (extension.js,
// cli.js); run from source (the tests, under tsx), it is the TypeScript file it is built from,
// loaded through tsx's CommonJS hook.
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface BundledScript {
  path: string;
  /** Node flags `path` needs: none when built. */
  execArgv: string[];
}

/** `name` as scripts/build.mjs names its bundle, `source` relative to src/. */
export function bundledScript(name: string, source: string): BundledScript {
  if (!__filename.endsWith('.ts')) return { path: join(__dirname, `${name}.js`), execArgv: [] };
  const path = join(__dirname, source);
  return { path, execArgv: ['--require', createRequire(path).resolve('tsx/cjs')] };
}
