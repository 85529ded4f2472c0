// Types of package.mjs.
export declare const VSIX_BUDGET_BYTES: number;
export declare function vsixPath(target: string, gpu?: readonly string[]): string;
export declare function packageTarget(
  target: string,
  options?: { out?: string; gpu?: readonly string[] },
): { target: string; out: string; bytes: number; entries: number; packages: string[] };
