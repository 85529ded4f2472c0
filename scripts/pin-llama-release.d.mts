// Types of pin-llama-release.mjs.
export declare function pinRelease(
  source: { apiBase: string; downloadBase: string },
  options?: { out?: string },
): Promise<{ repo: string; release: string; nightly: string; sha256: Record<string, string> }>;
