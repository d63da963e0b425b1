/**
 * Test-only: with BLOG_POSTER_TEST_KILL_AFTER_REMOTE_PUBLISH=<kind> (e.g. wordpress) the process
 * SIGKILLs itself right after that destination answered and before the publication is committed,
 * the worst moment for exactly-once. Off unless the variable is set; read here and nowhere else.
 */
const killAfterRemotePublish = process.env.BLOG_POSTER_TEST_KILL_AFTER_REMOTE_PUBLISH;

export function afterRemotePublish(kind: string): void {
  if (killAfterRemotePublish !== undefined && killAfterRemotePublish === kind) process.kill(process.pid, 'SIGKILL');
}
