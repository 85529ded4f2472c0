// What an image reference in a language-model tool's input names (src/protocol/lmTools.ts): the
// latest image, or a local file given as a workspace-relative path, an absolute path or a file:
// URI. A file outside the workspace folders (and outside Lens's own storage) is read only after
// the user allows it (prepareInvocation asks); a relative path may not climb out of its folder;
// symbolic links are followed before that is decided. No vscode import (unit-tested).
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LATEST_IMAGE, ToolInputError } from '../protocol/lmTools';

export type ImageRef = { kind: 'latest' } | { kind: 'file'; path: string };

/** Folders whose files a tool reads without asking: the workspace folders and Lens's own storage. */
export interface ImageRoots {
  /** Workspace folders, first first (relative paths are taken from it). */
  workspaceFolders: readonly string[];
  /** Lens's own folders (captures, attachments). */
  own: readonly string[];
}

function shown(ref: string): string {
  return JSON.stringify(ref.length > 80 ? `${ref.slice(0, 79)}…` : ref);
}

/** Whether `path` is `folder` or inside it (both absolute, normalised). */
export function isInside(path: string, folder: string): boolean {
  const r = relative(folder, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** The reference parsed (no file system access): "latest", or the absolute path it names. */
export function parseImageRef(ref: string, roots: ImageRoots): ImageRef {
  const r = ref.trim();
  if (r.toLowerCase() === LATEST_IMAGE) return { kind: 'latest' };
  if (r.includes('\0')) throw new ToolInputError(`The image reference ${shown(r)} contains a NUL character.`);
  // Windows drive paths (C:\…) look like a scheme; a scheme is two letters or more.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(r)?.[1];
  if (scheme !== undefined) {
    if (scheme.toLowerCase() !== 'file') throw new ToolInputError(`The image ${shown(r)} is a ${scheme}: URI; InternVL Lens reads local files only (a path or a file: URI).`);
    try {
      return { kind: 'file', path: resolve(fileURLToPath(r)) };
    } catch {
      throw new ToolInputError(`The image ${shown(r)} is not a valid file: URI; give a path instead.`);
    }
  }
  if (isAbsolute(r)) return { kind: 'file', path: resolve(r) };
  const folder = roots.workspaceFolders[0];
  if (folder === undefined) throw new ToolInputError(`The image ${shown(r)} is a relative path but no folder is open; give an absolute path.`);
  const path = resolve(folder, r);
  if (!isInside(path, folder)) throw new ToolInputError(`The image ${shown(r)} leads out of the workspace folder; give an absolute path (the user is then asked to allow it).`);
  return { kind: 'file', path };
}

/** Whether a file (a real path) is one the tools may read without asking. */
export function needsPermission(path: string, roots: ImageRoots): boolean {
  return ![...roots.workspaceFolders, ...roots.own].some((folder) => isInside(path, folder));
}

/**
 * The file a reference names, with its symbolic links resolved (the roots' too), and whether the
 * user must allow reading it; a missing file is a ToolInputError.
 */
export async function locateImageFile(path: string, roots: ImageRoots): Promise<{ path: string; needsPermission: boolean }> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ToolInputError(code === 'ENOENT' || code === 'ENOTDIR' ? `There is no file ${path}.` : `The image ${path} cannot be read (${code ?? 'error'}).`);
  }
  const realRoots = async (folders: readonly string[]) => (await Promise.all(folders.map((f) => realpath(f).catch(() => f)))).map((f) => (f.endsWith(sep) && f.length > 1 ? f.slice(0, -1) : f));
  const resolved: ImageRoots = { workspaceFolders: await realRoots(roots.workspaceFolders), own: await realRoots(roots.own) };
  return { path: real, needsPermission: needsPermission(real, resolved) };
}
