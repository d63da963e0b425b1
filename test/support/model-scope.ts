import type { Db } from '../../src/db/pool.ts';
import type { CallScope } from '../../src/llm/gateway.ts';

/** A post of the default tenant, without limits, for model calls made outside the pipeline. */
export async function modelCallScope(db: Db): Promise<CallScope> {
  const tenant = (await db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
  const submission = await db.query<{ id: string }>(
    `INSERT INTO submissions (tenant_id, request_hash, correlation_id) VALUES ($1, 'h', 'c') RETURNING id`,
    [tenant],
  );
  const post = await db.query<{ id: string }>(
    `INSERT INTO posts (tenant_id, submission_id, correlation_id) VALUES ($1, $2, 'c') RETURNING id`,
    [tenant, submission.rows[0]!.id],
  );
  return { tenantId: tenant, postId: post.rows[0]!.id, limits: {} };
}
