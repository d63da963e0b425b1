import type { Db } from '../../src/db/pool.ts';
import type { HoldStatus } from '../../src/posts/lifecycle.ts';
import type { Stage } from '../../queues/stages.ts';

/**
 * Puts a post (published, say) in a hold directly, as a stage's guard would have: a fixture for the tests of what
 * operators do with held posts. Production code holds a post only by a stage's outcome (src/posts/status.ts).
 */
export async function holdPost(
  db: Db,
  postId: string,
  hold: { status: HoldStatus; stage: Stage; reason: string; details?: unknown },
): Promise<void> {
  await db.query(
    `UPDATE posts SET status = $2, held_stage = $3, held_reason = $4, held_details = $5, updated_at = now()
      WHERE id = $1`,
    [postId, hold.status, hold.stage, hold.reason, hold.details === undefined ? null : JSON.stringify(hold.details)],
  );
}
