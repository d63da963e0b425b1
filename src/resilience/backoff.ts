/**
 * The one backoff rule: the delay before try `attempt` (1 for the first retry) is `baseMs` times `factor` for each
 * try before it, at most `maxMs`; with `jitter` (0..1) a random share of that is taken off, so that callers that
 * failed together do not come back together.
 */
export function backoffMs(
  attempt: number,
  opts: { baseMs: number; maxMs: number; factor?: number; jitter?: number },
): number {
  const delay = Math.min(opts.maxMs, Math.round(opts.baseMs * (opts.factor ?? 2) ** Math.max(0, attempt - 1)));
  const jitter = opts.jitter ?? 0;
  return jitter > 0 ? delay * (1 - jitter + Math.random() * jitter) : delay;
}

/** Sleeps through growing pauses (see `backoffMs`) while `busy()` holds, until `deadline`; says whether it let go. */
export async function pollWithBackoff(
  busy: () => boolean,
  deadline: number,
  opts: { baseMs: number; maxMs: number; factor?: number },
): Promise<boolean> {
  for (let attempt = 1; busy(); attempt++) {
    const pause = backoffMs(attempt, opts);
    if (Date.now() + pause > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return true;
}
