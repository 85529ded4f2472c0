// Pins the llama.cpp release InternVL Lens downloads from: writes into
// src/engine/local/runtimes/release.json the nightly build tag the release names and the sha256
// GitHub publishes for every asset Lens may fetch (release.ts RUNTIME_ASSETS). Run it when the
// release changes (node-llama-cpp's bundled llama.cpp moves), on a machine that reaches GitHub, and
// review the diff: from then on an asset whose published digest differs from the pin is refused.
//   node scripts/pin-llama-release.mjs [--api https://api.github.com] [--download https://github.com] [--out FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';
import { ROOT } from './runtime-packages.mjs';

const RELEASE_JSON = join(ROOT, 'src', 'engine', 'local', 'runtimes', 'release.json');

/** The pin for `release` (from node-llama-cpp's llama.cpp.info.json), read from `source`. */
export async function pinRelease(source, { out = RELEASE_JSON } = {}) {
  const [{ RUNTIME_ASSETS }, { nightlyTag, publishedAssets }] = await Promise.all([
    tsImport('../src/engine/local/runtimes/release.ts', import.meta.url),
    tsImport('../src/engine/local/runtimes/metadata.ts', import.meta.url),
  ]);
  const info = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8'));
  const unpinned = { repo: info.llamaCppGithubRepo, release: info.tag, nightly: null, sha256: {} };
  const tag = await nightlyTag(unpinned, source);
  const names = [...new Set(RUNTIME_ASSETS.flatMap((a) => a.assets(tag)))].sort();
  const assets = await publishedAssets(unpinned, tag, names, source);
  const pin = { repo: unpinned.repo, release: unpinned.release, nightly: tag, sha256: Object.fromEntries(assets.map((a) => [a.name, a.sha256])) };
  writeFileSync(out, `${JSON.stringify(pin, null, 2)}\n`);
  return pin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { api: { type: 'string' }, download: { type: 'string' }, out: { type: 'string' } } });
  const source = { apiBase: values.api ?? 'https://api.github.com', downloadBase: values.download ?? 'https://github.com' };
  pinRelease(source, { out: values.out ?? RELEASE_JSON }).then(
    (pin) => console.log(`pinned llama.cpp ${pin.release} (build ${pin.nightly}): ${Object.keys(pin.sha256).length} assets → ${values.out ?? RELEASE_JSON}`),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
