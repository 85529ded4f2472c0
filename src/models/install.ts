// Puts one catalogue build on disk: checks that both files fit before fetching either, downloads
// the language model and its vision projector (resuming what an earlier try left), and runs the
// engine's pre-flight checks on the pair, so that only files that load are ever configured.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { preflightModelFiles } from '../engine/local/preflight';
import { type CatalogueEntry, type CatalogueFile, familyFolder, fileUrl, HUGGING_FACE, mmprojFor, type Mmproj, sizeTolerance } from './catalogue';
import { type ConnectRetry, downloadFile, type DownloadOptions, type DownloadProgress, ensureFreeSpace, partialProgress, type StatFs } from './download';

export interface InstallProgress extends DownloadProgress {
  /** The file being fetched now. */
  file: string;
  /** 1-based, of `count`. */
  index: number;
  count: number;
  /** Across both files. */
  overallReceived: number;
  overallTotal: number;
}

export interface InstallOptions {
  entry: CatalogueEntry;
  mmproj?: Mmproj;
  /** The models folder; each repository gets a folder inside it. */
  directory: string;
  baseUrl?: string;
  signal?: AbortSignal;
  onProgress?: (p: InstallProgress) => void;
  /** Before each pause between tries to reach the server. */
  onRetry?: (retry: ConnectRetry) => void;
  statfs?: StatFs;
  /** Knobs passed to each download (connections, retries …; tests make them small). */
  download?: Partial<Pick<DownloadOptions, 'connections' | 'minSegmentBytes' | 'retries' | 'retryDelayMs' | 'stallTimeoutMs' | 'progressIntervalMs' | 'saveIntervalMs'>>;
  log?: (message: string) => void;
}

export interface InstalledModel {
  modelPath: string;
  mmprojPath: string;
  /** Bytes fetched now (0 when both files were already there). */
  fetchedBytes: number;
}

/** Where a build's files go. */
export function installPaths(entry: CatalogueEntry, directory: string, mmproj = mmprojFor(entry)!): { modelPath: string; mmprojPath: string } {
  const folder = join(directory, familyFolder(entry.family));
  return { modelPath: join(folder, entry.file), mmprojPath: join(folder, mmproj.file) };
}

/** Bytes still to fetch for a file: none when it is complete, the rest when a partial download is kept. */
async function bytesToFetch(file: CatalogueFile, path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (Math.abs(s.size - file.bytes) <= sizeTolerance(file)) return 0;
  } catch {
    // not there
  }
  const partial = await partialProgress(path);
  return partial ? partial.totalBytes - partial.receivedBytes : file.bytes;
}

/** How much of a build is already on disk (for "resume" in the picker). */
export async function installState(entry: CatalogueEntry, directory: string, mmproj = mmprojFor(entry)!): Promise<{ missingBytes: number; totalBytes: number }> {
  const paths = installPaths(entry, directory, mmproj);
  const missing = (await bytesToFetch(entry, paths.modelPath)) + (await bytesToFetch(mmproj, paths.mmprojPath));
  return { missingBytes: missing, totalBytes: entry.bytes + mmproj.bytes };
}

export async function installModel(options: InstallOptions): Promise<InstalledModel> {
  const { entry, directory, baseUrl = HUGGING_FACE, signal, onProgress, statfs, log } = options;
  const mmproj = options.mmproj ?? mmprojFor(entry)!;
  const paths = installPaths(entry, directory, mmproj);
  const files: Array<[CatalogueFile, string]> = [
    [entry, paths.modelPath],
    [mmproj, paths.mmprojPath],
  ];
  const folder = join(directory, familyFolder(entry.family));
  await mkdir(folder, { recursive: true });
  const missing = await Promise.all(files.map(([f, p]) => bytesToFetch(f, p)));
  // Both files must fit before either is fetched: half a model is of no use.
  await ensureFreeSpace(folder, missing.reduce((a, b) => a + b, 0), statfs);

  const overallTotal = entry.bytes + mmproj.bytes;
  let done = 0;
  let fetchedBytes = 0;
  for (const [index, [file, path]] of files.entries()) {
    const result = await downloadFile({
      ...options.download,
      url: fileUrl(entry.family, file.file, baseUrl),
      destination: path,
      expected: { bytes: file.bytes, tolerance: sizeTolerance(file), ...(file.sha256 ? { sha256: file.sha256 } : {}) },
      signal,
      statfs,
      log,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      onProgress: (p) => onProgress?.({ ...p, file: file.file, index: index + 1, count: files.length, overallReceived: done + p.receivedBytes, overallTotal }),
    });
    done += result.bytes;
    if (!result.alreadyPresent) fetchedBytes += result.bytes - result.resumedFromBytes;
  }
  // The same checks as before every load: header, key types, truncation, projector fits the model.
  await preflightModelFiles(paths);
  return { ...paths, fetchedBytes };
}
