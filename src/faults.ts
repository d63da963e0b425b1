/**
 * Test-only crash points, off unless BLOG_POSTER_CRASH_AT is set. The fault suite starts a worker
 * with BLOG_POSTER_CRASH_AT=<stage>:<point> and the process SIGKILLs itself on reaching that point,
 * which shows that a crash anywhere in a stage loses no work and duplicates none.
 */
export type CrashPoint = 'started' | 'processed' | 'handed-off';

const crashAt = process.env.BLOG_POSTER_CRASH_AT;

export function crashPoint(stage: string, point: CrashPoint): void {
  if (crashAt !== undefined && crashAt === `${stage}:${point}`) process.kill(process.pid, 'SIGKILL');
}
