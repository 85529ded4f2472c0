/** What went wrong, in words a user can act on, and which setting fixes it when one does. */
export const ENGINE_ERROR_CODES = [
  'model-not-configured',
  'model-file-missing',
  'model-file-invalid',
  'load-failed',
  'no-vision',
  'worker-crashed',
  'unloaded',
  'worker-failed-to-start',
  'completion-failed',
  'context-overflow',
  'bad-request',
  'protocol',
  // The remote server: not configured, unreachable, refusing the key, or failing.
  'remote-not-configured',
  'remote-unreachable',
  'remote-tls',
  'remote-timeout',
  'remote-unauthorized',
  'remote-model-not-found',
  'remote-failed',
] as const;
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

/** The buttons that fix one: src/userError.ts (engineRemedies). */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** The setting that fixes this, when there is one. */
    readonly setting?: string,
  ) {
    super(message);
  }
}
