import type { Db } from '../db/pool.ts';
import { BudgetExceededError } from './errors.ts';

// Spend is read from llm_calls, the one record of every model call: the month's sum per tenant and
// the sum per post. Cached answers cost nothing and are recorded with cost 0.

export type BudgetLimits = { monthlyBudgetUsd?: number | undefined; perPostCostCapUsd?: number | undefined };

export async function monthSpendUsd(db: Db, tenantId: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    `SELECT COALESCE(sum(cost_usd), 0) AS spent FROM llm_calls
      WHERE tenant_id = $1 AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [tenantId],
  );
  return Number(rows[0]?.spent ?? 0);
}

export async function postSpendUsd(db: Db, postId: string): Promise<number> {
  const { rows } = await db.query<{ spent: string }>(
    'SELECT COALESCE(sum(cost_usd), 0) AS spent FROM llm_calls WHERE post_id = $1',
    [postId],
  );
  return Number(rows[0]?.spent ?? 0);
}

/** Throws BudgetExceededError when a call estimated at `estimateUsd` would pass either limit. */
export async function checkBudget(
  db: Db,
  call: { tenantId: string; postId: string; step: string; estimateUsd: number },
  limits: BudgetLimits,
): Promise<void> {
  if (limits.monthlyBudgetUsd !== undefined) {
    const spent = await monthSpendUsd(db, call.tenantId);
    if (spent + call.estimateUsd > limits.monthlyBudgetUsd) {
      throw new BudgetExceededError(
        `the ${call.step} call (up to $${call.estimateUsd.toFixed(4)}) would pass the tenant's monthly budget of $${limits.monthlyBudgetUsd} ($${spent.toFixed(4)} spent)`,
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
    const spent = await postSpendUsd(db, call.postId);
    if (spent + call.estimateUsd > limits.perPostCostCapUsd) {
      throw new BudgetExceededError(
        `the ${call.step} call (up to $${call.estimateUsd.toFixed(4)}) would pass the per-post cap of $${limits.perPostCostCapUsd} ($${spent.toFixed(4)} spent)`,
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

export async function recordLlmCall(db: Db, call: LlmCallRecord): Promise<void> {
  await db.query(
    `INSERT INTO llm_calls (tenant_id, post_id, provider, model, step, prompt_tokens, completion_tokens, cost_usd, cached)
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
    ],
  );
}

/** Stops the post without failing it: no further calls are made for it until an operator replays it from generate. */
export async function stopForBudget(db: Db, postId: string, err: BudgetExceededError): Promise<void> {
  await db.query(
    `UPDATE posts SET status = 'budget_exceeded', held_stage = NULL, held_reason = $2, held_details = $3, updated_at = now()
      WHERE id = $1`,
    [postId, err.message, JSON.stringify(err.details)],
  );
}
