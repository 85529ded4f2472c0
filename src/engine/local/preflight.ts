// Checks done on user-chosen model files before any native code sees them: a malformed GGUF
// aborts the process that loads it.
import { open } from 'node:fs/promises';
import { EngineError } from '../errors';
import { Settings } from '../../config';

const GGUF_MAGIC = 0x46554747; // "GGUF" read little-endian

async function checkGguf(path: string, role: string, setting: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be opened (${code})`;
    throw new EngineError('model-file-missing', `The ${role} file ${path} ${why}. Choose the file in the setting ${setting}.`, setting);
  }
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    if (bytesRead < 8 || head.readUInt32LE(0) !== GGUF_MAGIC) {
      throw new EngineError('model-file-invalid', `The ${role} file ${path} is not a GGUF file. Choose a .gguf file in the setting ${setting}.`, setting);
    }
    const version = head.readUInt32LE(4);
    if (version < 2 || version > 3) {
      throw new EngineError('model-file-invalid', `The ${role} file ${path} uses GGUF version ${version}; only versions 2 and 3 are supported.`, setting);
    }
  } finally {
    await handle.close();
  }
}

export interface ModelFiles {
  modelPath: string;
  mmprojPath: string | null;
}

export async function preflightModelFiles(files: { modelPath: string; mmprojPath: string }): Promise<ModelFiles> {
  if (!files.modelPath) {
    throw new EngineError(
      'model-not-configured',
      `No model is set. Set ${Settings.modelPath} to an InternVL3 GGUF file (and ${Settings.mmprojPath} to its mmproj file).`,
      Settings.modelPath,
    );
  }
  await checkGguf(files.modelPath, 'model', Settings.modelPath);
  if (files.mmprojPath) await checkGguf(files.mmprojPath, 'mmproj', Settings.mmprojPath);
  return { modelPath: files.modelPath, mmprojPath: files.mmprojPath || null };
}
