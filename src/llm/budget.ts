import type { Db } from '../db/pool.ts';
import { BudgetExceededError } from './errors.ts';

// Spend is read from llm_calls, the one record of every model call (the month's sum per tenant and the
// sum per post), plus the reservations of calls in flight. Cached answers cost nothing and are recorded
// with cost 0.

export type BudgetLimits = { monthlyBudgetUsd?: number | undefined; perPostCostCapUsd?: number | undefined };

/** A reservation older than this belongs to a call whose process died; it no longer counts. */
const RESERVATION_TTL_MINUTES = 15;

const monthStart = `date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;
const liveReservation = `created_at > now() - make_interval(mins => ${RESERVATION_TTL_MINUTES})`;

/** The tenant's spend this calendar month (UTC), calls made plus calls in flight (their worst case). */
export async function monthSpendUsd(db: Pick<Db, 'query'>, tenantId: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    `SELECT (SELECT COALESCE(sum(cost_usd), 0) FROM llm_calls WHERE tenant_id = $1 AND created_at >= ${monthStart})
          + (SELECT COALESCE(sum(amount_usd), 0) FROM llm_reservations WHERE tenant_id = $1 AND ${liveReservation}) AS
            spent`,
    [tenantId],
  );
  return Number(rows[0]?.spent ?? 0);
}

/** The post's spend, calls made plus calls in flight. */
export async function postSpendUsd(db: Pick<Db, 'query'>, postId: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    `SELECT (SELECT COALESCE(sum(cost_usd), 0) FROM llm_calls WHERE post_id = $1)
          + (SELECT COALESCE(sum(amount_usd), 0) FROM llm_reservations WHERE post_id = $1 AND ${liveReservation}) AS
            spent`,
    [postId],
  );
  return Number(rows[0]?.spent ?? 0);
}

/**
 * Reserves the worst case of a call (`estimateUsd`) against the tenant's limits, atomically: the check
 * and the reservation happen under a lock per tenant, so concurrent calls of one tenant see each
 * other's reservations and cannot pass a limit together. Throws BudgetExceededError when the call would
 * pass either limit; returns the reservation's id (null when the tenant has no limit), to be settled by
 * recordLlmCall or released by releaseReservation.
 */
export async function reserveBudget(
  db: Db,
  call: { tenantId: string; postId: string; step: string; estimateUsd: number },
  limits: BudgetLimits,
): Promise<string | null> {
  if (limits.monthlyBudgetUsd === undefined && limits.perPostCostCapUsd === undefined) return null;
  return db.tx(async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`blog-poster:budget:${call.tenantId}`]);
    if (limits.monthlyBudgetUsd !== undefined) {
      const spent = await monthSpendUsd(client, call.tenantId);
      if (spent + call.estimateUsd > limits.monthlyBudgetUsd) {
        throw new BudgetExceededError(
          `the ${call.step} call (up to $${call.estimateUsd.toFixed(4)}) would pass ` +
            `the tenant's monthly budget of $${limits.monthlyBudgetUsd} ($${spent.toFixed(4)} ` +
            `spent or reserved)`,
          {
            scope: 'month',
            limitUsd: limits.monthlyBudgetUsd,
            spentUsd: spent,
            estimateUsd: call.estimateUsd,
            step: call.step,
          },
        );
      }
    }
    if (limits.perPostCostCapUsd !== undefined) {
      const spent = await postSpendUsd(client, call.postId);
      if (spent + call.estimateUsd > limits.perPostCostCapUsd) {
        throw new BudgetExceededError(
          `the ${call.step} call (up to $${call.estimateUsd.toFixed(4)}) would pass ` +
            `the per-post cap of $${limits.perPostCostCapUsd} ($${spent.toFixed(4)} ` +
            `spent or reserved)`,
          {
            scope: 'post',
            limitUsd: limits.perPostCostCapUsd,
            spentUsd: spent,
            estimateUsd: call.estimateUsd,
            step: call.step,
          },
        );
      }
    }
    const { rows } = await client.query<{ id: string }>(
      'INSERT INTO llm_reservations (tenant_id, post_id, amount_usd) VALUES ($1, $2, $3) RETURNING id',
      [call.tenantId, call.postId, call.estimateUsd],
    );
    return rows[0]!.id;
  });
}

/** Gives a reservation back: the call was not made, or failed without a reply. */
export async function releaseReservation(db: Db, reservationId: string | null): Promise<void> {
  if (reservationId !== null) await db.query('DELETE FROM llm_reservations WHERE id = $1', [reservationId]);
}

export type LlmCallRecord = {
  tenantId: string;
  postId: string;
  provider: string;
  model: string;
  step: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  cached: boolean;
};

/** Records a call; its reservation, if any, is replaced by the actual cost in the same statement. */
export async function recordLlmCall(db: Db, call: LlmCallRecord, reservationId: string | null = null): Promise<void> {
  await db.query(
    `WITH settled AS (DELETE FROM llm_reservations WHERE id = $10)
     INSERT INTO llm_calls (tenant_id, post_id, provider, model, step, prompt_tokens, completion_tokens, cost_usd,
       cached)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      call.tenantId,
      call.postId,
      call.provider,
      call.model,
      call.step,
      call.promptTokens,
      call.completionTokens,
      call.costUsd,
      call.cached,
      reservationId,
    ],
  );
}
