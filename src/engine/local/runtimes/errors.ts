/** What went wrong getting or running a llama.cpp runtime, in words a user can act on. */
export type RuntimeErrorCode =
  /** GitHub's release API could not be read, or answered something else than a release. */
  | 'metadata'
  /** The release does not carry the asset (renamed, or not built for this platform). */
  | 'not-published'
  /** No digest to check the asset against, or the pinned and published digests differ. */
  | 'untrusted'
  /** The archive is malformed, too large, or holds a path or link that leaves its folder. */
  | 'archive'
  /** The unpacked runtime does not run here (missing driver or library, wrong platform). */
  | 'broken'
  /** No llama-server where the setting or the choice points. */
  | 'not-found';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
