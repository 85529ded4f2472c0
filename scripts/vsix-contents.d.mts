// Types of vsix-contents.mjs.
export interface VsixEntry {
  name: string;
  size: number;
  compressedSize: number;
  /** Unix mode from the external attributes (0o100755 for an executable), 0 when none. */
  mode: number;
  read(): Buffer;
}
export declare function readVsix(file: string): VsixEntry[];
export declare function nativeBinaryTarget(bytes: Buffer): string | null;
