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
