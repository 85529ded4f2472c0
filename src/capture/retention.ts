// Captured and attached images live in the extension's storage (AttachmentStore's folder) and
// nowhere else; this deletes the old ones, never one the current chat still shows.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Files AttachmentStore writes: a content hash and an image extension (and its temp files). */
const STORED = /^[0-9a-f]{32}\.(png|jpg|gif|bmp|webp)(\.\d+\.tmp)?$/;

export interface PruneResult {
  removed: number;
  bytes: number;
}

/**
 * Deletes stored images last written more than `maxAgeMs` ago (all of them when 0), except the
 * paths in `keep`.
 */
export async function pruneCaptures(dir: string, maxAgeMs: number, keep: ReadonlySet<string>, now = Date.now()): Promise<PruneResult> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { removed: 0, bytes: 0 };
  }
  const result: PruneResult = { removed: 0, bytes: 0 };
  for (const name of names) {
    const path = join(dir, name);
    if (!STORED.test(name) || keep.has(path)) continue;
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
  return result;
}
