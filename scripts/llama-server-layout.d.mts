// Types of llama-server-layout.mjs.
export declare const LINUX_SYSTEM_LIBRARIES: readonly string[];
export declare function readElfDynamic(bytes: Buffer): { needed: string[]; soname: string | null; runpath: string | null } | null;
export declare function readMachODylibs(bytes: Buffer): { loads: string[]; id: string | null; rpaths: string[] } | null;
export declare function readPeImports(bytes: Buffer): string[] | null;
export declare function neededNames(bytes: Buffer): string[];
export declare function layoutLlamaServer(
  binDir: string,
  dest: string,
  target: string,
  options: { executable: string; licence?: string | null; stripSymbols?: boolean },
): { files: Array<{ name: string; bytes: number }>; system: string[] };
export interface BundleManifest {
  version: 1;
  release: string;
  build: string;
  executable: string;
  sha256: string;
  packedBytes: number;
  unpackedBytes: number;
  files: Array<{ name: string; bytes: number }>;
}
export declare function packLlamaServer(
  dir: string,
  dest: string,
  options: { names: { blob: string; manifest: string }; executable: string; release: string; build: string; quality?: number; cacheDir?: string },
): BundleManifest;
