// Captured and attached images live in the extension's storage (AttachmentStore's folder, and
// their model-sized copies in its model/ folder) and nowhere else; this deletes the old ones,
// never one the current chat still uses.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMPORARY_FILE } from '../files';
import { IMAGE_FORMATS, storedExtension } from '../images/formats';

/** Files AttachmentStore writes: a content hash, then an image extension (or the model copy's grid); their temp files too. */
const STORED = new RegExp(`^[0-9a-f]{32}\\.[\\w.-]*(${IMAGE_FORMATS.map(storedExtension).join('|')})$`);

export interface PruneResult {
  removed: number;
  bytes: number;
}

/**
 * Deletes stored images last written more than `maxAgeMs` ago (all of them when 0), except the
 * paths in `keep`.
 */
export async function pruneCaptures(dir: string, maxAgeMs: number, keep: ReadonlySet<string>, now = Date.now()): Promise<PruneResult> {
  const result: PruneResult = { removed: 0, bytes: 0 };
  for (const folder of [dir, join(dir, 'model')]) await pruneFolder(folder, maxAgeMs, keep, now, result);
  return result;
}

async function pruneFolder(dir: string, maxAgeMs: number, keep: ReadonlySet<string>, now: number, result: PruneResult): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!STORED.test(name.replace(TEMPORARY_FILE, '')) || keep.has(path)) continue;
    try {
      const s = await stat(path);
      if (now - s.mtimeMs < maxAgeMs) continue;
      await rm(path, { force: true });
      result.removed++;
      result.bytes += s.size;
    } catch {
      /* gone meanwhile */
    }
  }
}
