// Types of package.mjs.
export declare const VSIX_BUDGET_BYTES: number;
export declare const LLAMA_CPP_BUILDS: readonly ['portable', 'test', 'release', 'none'];
export declare const LLAMA_CPP_CACHE: string;
export type LlamaCppBuild = (typeof LLAMA_CPP_BUILDS)[number];
export interface StagedLlamaServer {
  build: 'portable' | 'test' | 'release';
  files: Array<{ name: string; bytes: number }>;
  /** Shared libraries the files expect the machine to have (the C and C++ runtimes). */
  system: string[];
  /** Unpacked, and packed in dist/llama.cpp/llama.cpp.tar.br. */
  bytes: number;
  packedBytes: number;
}
export interface ReleaseSource {
  apiBase: string;
  downloadBase: string;
}
export declare function stageLlamaServer(target: string, build: LlamaCppBuild, dest: string, options?: { releaseSource?: ReleaseSource; cacheDir?: string }): Promise<StagedLlamaServer | null>;
export declare function vsixPath(target: string): string;
export declare function packageTarget(
  target: string,
  options?: { out?: string; llamaCpp?: LlamaCppBuild; releaseSource?: ReleaseSource; cacheDir?: string },
): Promise<{ target: string; out: string; bytes: number; entries: number; packages: string[]; llamaCpp: StagedLlamaServer | null }>;
