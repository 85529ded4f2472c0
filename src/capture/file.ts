// Pixels from an image file anywhere VS Code can read (local disk, remote workspace).
import * as vscode from 'vscode';
import { ImageError } from '../images';
import { EXPLAINABLE_EXTENSIONS, hasExtension } from '../images/formats';
import { checkCapturedImage } from './capture';
import { rasteriseSvg } from './svg';

/** Refuse files this large before reading them: no screenshot or diagram comes close. */
export const MAX_IMAGE_FILE_BYTES = 200 * 1024 * 1024;

export interface CapturedImage {
  bytes: Uint8Array;
  name: string;
}

export async function captureFile(uri: vscode.Uri): Promise<CapturedImage> {
  const name = uri.path.split('/').pop() || uri.toString();
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.type & vscode.FileType.Directory) throw new ImageError(`${name} is a folder, not an image.`);
  if (stat.size === 0) throw new ImageError(`${name} is empty (0 bytes), so there is no image to explain.`);
  if (stat.size > MAX_IMAGE_FILE_BYTES) {
    throw new ImageError(`${name} is ${(stat.size / 1024 / 1024).toFixed(0)} MB; images over ${MAX_IMAGE_FILE_BYTES / 1024 / 1024} MB are refused.`);
  }
  const bytes = await vscode.workspace.fs.readFile(uri);
  // An SVG is drawn to a PNG here, so everything after sees pixels.
  if (/\.svg$/i.test(name)) return rasteriseSvg(bytes, name);
  // Refused from its header, before anything decodes it: a 100-megapixel image would stall the chat view.
  checkCapturedImage(bytes, name);
  return { bytes, name };
}

/** The image the user is looking at: an image preview tab or an image file in a text editor. */
export function activeImageUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri =
    input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText
      ? input.uri
      : vscode.window.activeTextEditor?.document.uri;
  return uri && hasExtension(uri.path, EXPLAINABLE_EXTENSIONS) ? uri : undefined;
}
