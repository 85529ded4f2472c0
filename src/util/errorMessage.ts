/** What an error says, for a log line or a message: its `message` when it is an Error, else its text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
