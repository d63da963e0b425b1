import { UnrecoverableError } from 'bullmq';

/**
 * An error that retrying cannot fix (a 404 source, a payload that fails validation, a policy
 * refusal). The stage fails at once and the message is stored on the post as its reason.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/**
 * The one way to ask "would a retry help?": no for a PermanentError (and its kinds), for BullMQ's
 * UnrecoverableError, and for an error that says so itself (`permanent: true`, as a fetch refusal does).
 */
export function isPermanent(err: unknown): err is Error {
  if (err instanceof PermanentError || err instanceof UnrecoverableError) return true;
  return err instanceof Error && (err as { permanent?: unknown }).permanent === true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
