/**
 * An error that retrying cannot fix (a 404 source, a payload that fails validation, a policy
 * refusal). The stage fails at once and the message is stored on the post as its reason.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
