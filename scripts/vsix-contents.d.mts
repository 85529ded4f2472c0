// Types of vsix-contents.mjs.
export interface VsixEntry {
  name: string;
  size: number;
  compressedSize: number;
  read(): Buffer;
}
export declare function readVsix(file: string): VsixEntry[];
export declare function nativeBinaryTarget(bytes: Buffer): string | null;
