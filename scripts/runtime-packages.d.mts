// Types of runtime-packages.mjs, for the tests and benchmarks that import it.
export declare const ROOT: string;
export declare const CACHE_DIR: string;
export declare const TARGETS: readonly string[];
export declare function hostTarget(): string;
export declare function runtimePackages(target: string): string[];
export declare function lockedPackage(name: string): { version: string; integrity: string };
export declare function packageSource(name: string): string;
export declare function fetchPackage(name: string, version: string, integrity: string): string;
export declare function layoutRuntime(target: string, destNodeModules: string): string[];
