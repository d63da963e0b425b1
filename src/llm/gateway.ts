import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis.ts';
import pRetry from 'p-retry';
import {
  type BreakerSpec,
  breakerWaitMs,
  heldMs,
  holdRemote,
  isBreakerOpenError,
  throughBreaker,
  trialInFlight,
  trialVerdict,
} from '../resilience/breakers.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  llmCostUsdTotal,
  llmRequestDurationSeconds,
  llmRequestsTotal,
  llmTokensTotal,
  rateLimitedTotal,
} from '../metrics.ts';
import { recordLlmCall, releaseReservation, reserveBudget, type BudgetLimits } from './budget.ts';
import { createLlmCache } from './cache.ts';
import {
  createConcurrencyLimit,
  createLocalSlots,
  SlotWaitTimeout,
  type LocalSlots,
  type Slot,
} from './concurrency.ts';
import {
  LlmRateLimitedError,
  LlmRefusalError,
  LlmTransientError,
  LlmTruncatedError,
  LlmUnusableReplyError,
  LlmWaitError,
} from './errors.ts';
import { createSharedLimits } from './limits.ts';
import { costUsd, estimateTokens, priceFor } from './pricing.ts';
import type { ChatProvider, ChatReply, ChatRequest } from './types.ts';

export type GatewayDeps = { db: Db; redis: RedisClient; config: Config; log: Logger };
export type CallScope = { tenantId: string; postId: string; limits: BudgetLimits };

/** Checks a reply before it is used or cached; throw to have the call retried. */
export type ReplyCheck = (content: string) => void;

// This process's model slots per endpoint (WORKER_CONCURRENCY each), shared by every gateway the generate jobs make.
const processSlots = new Map<string, LocalSlots>();

/**
 * Every model call goes through here: the response cache, the tenant's budget, the shared request and token
 * limits, the provider's breaker, in-job retries of transient errors, metrics, and a row in llm_calls.
 *
 * What it throws tells the stage what to do: LlmRateLimitedError and LlmWaitError mean "wait, spend no attempt",
 * BudgetExceededError "stop the post", a PermanentError "fail now", anything else "retry with backoff".
 */
export function createGateway(deps: GatewayDeps, provider: ChatProvider) {
  const { config } = deps;
  const cache = createLlmCache(deps.redis, { prefix: config.QUEUE_PREFIX, ttlSeconds: config.LLM_CACHE_TTL_SECONDS });
  const limits = createSharedLimits(deps.redis, {
    prefix: config.QUEUE_PREFIX,
    rpm: config.LLM_RPM,
    tpm: config.LLM_TPM,
    windowMs: config.LLM_LIMIT_WINDOW_MS,
  });
  const slots = createConcurrencyLimit(deps.redis, {
    prefix: config.QUEUE_PREFIX,
    max: config.LLM_MAX_CONCURRENCY,
  });
  const slotScope = `${provider.name}:${createHash('sha256').update(provider.endpoint).digest('hex').slice(0, 16)}`;
  const localKey = `${slotScope}:${config.WORKER_CONCURRENCY}`;
  const localSlots = processSlots.get(localKey) ?? createLocalSlots(config.WORKER_CONCURRENCY);
  // Endpoints are few (one per configuration); the bound only keeps a test process from collecting them.
  if (!processSlots.has(localKey)) {
    if (processSlots.size >= 100) processSlots.clear();
    processSlots.set(localKey, localSlots);
  }
  // The config refuses to start without a price for OPENAI_MODEL; a model reached otherwise (a tenant's
  // llmProvider) and priced nowhere cannot be held to a budget, so a call with a limit is refused below.
  const knownPrice = priceFor(config.LLM_PRICES, provider.model);
  const price = knownPrice ?? { prompt: 0, completion: 0 };
  const labels = { provider: provider.name, model: provider.model };
  // One breaker per provider and endpoint. A 429 does not count against it: the endpoint is up and answering.
  const breakerKey = `llm ${provider.name} ${provider.endpoint}`;
  const breaker: BreakerSpec = {
    errorThresholdPercentage: config.LLM_BREAKER_ERROR_PERCENT,
    volumeThreshold: config.LLM_BREAKER_VOLUME,
    resetTimeoutMs: config.LLM_BREAKER_RESET_MS,
    gauge: provider.name,
    upWhen: (err) => err instanceof LlmRateLimitedError,
  };
  const breakerWait = () => breakerWaitMs(breakerKey, 250);

  /**
   * One of the endpoint's slots (LLM_MAX_CONCURRENCY), waited for in arrival order: the call's timeout then runs
   * only while the endpoint works on it. A wait longer than a call may take sends the job back to the queue.
   */
  async function takeSlot(): Promise<Slot> {
    try {
      return await slots.acquire(slotScope, config.LLM_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof SlotWaitTimeout)) throw err;
      rateLimitedTotal.inc({ scope: 'concurrency' });
      throw new LlmWaitError(err.message, Math.min(30_000, 1000 * err.position), 'limit');
    }
  }

  /** The call itself, past the breaker and the shared limits; throws what the stage should do instead. */
  async function call(request: ChatRequest, promptTokens: number): Promise<ChatReply> {
    // Checked before taking from the shared limits, so a job that cannot call anyway uses none of them.
    const waitForBreaker = breakerWait();
    if (waitForBreaker > 0)
      throw new LlmWaitError(`the ${provider.name} circuit breaker is open`, waitForBreaker, 'breaker');
    // Half-open with its one trial call in flight: its verdict comes within a call's time, so it is waited for
    // here rather than by going back to the queue again and again while the trial runs.
    if (trialInFlight(breakerKey)) {
      const verdict = await trialVerdict(breakerKey, config.LLM_TIMEOUT_MS);
      if (verdict !== 'closed')
        throw new LlmWaitError(`the ${provider.name} circuit breaker is open`, breakerWait() || 1000, 'breaker');
    }
    // One of this process's model slots, held from the shared limits to the reply (see createLocalSlots).
    const releaseLocal = await localSlots.acquire();
    try {
      // A post that waited for its slot while another post's call was answered 429 waits out the Retry-After too,
      // rather than asking again at once.
      const wait = heldMs(breakerKey);
      if (wait > 0) {
        rateLimitedTotal.inc({ scope: 'provider' });
        throw new LlmWaitError(`the ${provider.name} endpoint asked to wait (Retry-After)`, wait, 'limit');
      }
      return await callInSlot(request, promptTokens);
    } catch (err) {
      if (err instanceof LlmRateLimitedError) {
        holdRemote(breakerKey, err.waitMs);
      }
      throw err;
    } finally {
      releaseLocal();
    }
  }

  async function callInSlot(request: ChatRequest, promptTokens: number): Promise<ChatReply> {
    const decision = await limits.acquire(provider.name, provider.model, promptTokens + request.maxTokens);
    if (decision.waitMs > 0 && 'limit' in decision) {
      rateLimitedTotal.inc({ scope: decision.limit });
      throw new LlmWaitError(
        `the shared ${decision.limit === 'rpm' ? 'requests' : 'tokens'}-per-window limit is reached`,
        decision.waitMs,
        'limit',
      );
    }
    const slot = await takeSlot();

    const endTimer = llmRequestDurationSeconds.startTimer(labels);
    let reply: ChatReply;
    try {
      reply = await throughBreaker(breakerKey, breaker, () => provider.chat(request));
    } catch (err) {
      endTimer();
      if (isBreakerOpenError(err)) {
        // Another job's trial call started since the look above: wait briefly for its verdict.
        throw new LlmWaitError(`the ${provider.name} circuit breaker is open`, breakerWait() || 1000, 'breaker');
      }
      llmRequestsTotal.inc({ ...labels, outcome: err instanceof LlmRateLimitedError ? 'rate_limited' : 'error' });
      if (err instanceof LlmRateLimitedError) rateLimitedTotal.inc({ scope: 'provider' });
      throw err;
    } finally {
      await slot.release();
    }
    endTimer();

    return reply;
  }

  async function attempt(request: ChatRequest, scope: CallScope, check: ReplyCheck | undefined): Promise<ChatReply> {
    const promptTokens = estimateTokens(request.messages.map((m) => m.content).join('\n'));
    if (
      knownPrice === null &&
      (scope.limits.monthlyBudgetUsd !== undefined || scope.limits.perPostCostCapUsd !== undefined)
    )
      throw new PermanentError(
        `the model "${provider.model}" has no price (LLM_PRICES), so the tenant's ` +
          `budget cannot be kept; price it first`,
      );
    // The worst case, the whole prompt and every completion token the call may use, is reserved against
    // the budget before the call and settled at its actual cost after it (../llm/budget.ts).
    const reservation = await reserveBudget(
      deps.db,
      {
        tenantId: scope.tenantId,
        postId: scope.postId,
        step: request.step,
        estimateUsd: costUsd(price, promptTokens, request.maxTokens),
      },
      scope.limits,
    );
    let reply: ChatReply;
    try {
      reply = await call(request, promptTokens);
    } catch (err) {
      await releaseReservation(deps.db, reservation).catch(() => undefined);
      throw err;
    }

    const cost = costUsd(price, reply.promptTokens, reply.completionTokens);
    llmTokensTotal.inc({ ...labels, kind: 'prompt' }, reply.promptTokens);
    llmTokensTotal.inc({ ...labels, kind: 'completion' }, reply.completionTokens);
    llmCostUsdTotal.inc(labels, cost);
    await recordLlmCall(
      deps.db,
      {
        tenantId: scope.tenantId,
        postId: scope.postId,
        provider: provider.name,
        model: reply.model || provider.model,
        step: request.step,
        promptTokens: reply.promptTokens,
        completionTokens: reply.completionTokens,
        costUsd: cost,
        cached: false,
      },
      reservation,
    );

    if (reply.finishReason === 'refusal' || reply.finishReason === 'content_filter') {
      llmRequestsTotal.inc({ ...labels, outcome: 'refused' });
      throw new LlmRefusalError(
        `the model refused the ${request.step} step${reply.refusal ? `: ${reply.refusal.slice(0, 300)}` : ''}`,
      );
    }
    if (reply.finishReason === 'length') {
      llmRequestsTotal.inc({ ...labels, outcome: 'truncated' });
      throw new LlmTruncatedError(
        `the ${request.step} step was cut off at ${request.maxTokens} tokens (finish_reason "length")`,
      );
    }
    try {
      check?.(reply.content);
    } catch (err) {
      // Paid for and recorded; asking the same again gets the same, so the writer decides on another sample.
      llmRequestsTotal.inc({ ...labels, outcome: 'unusable' });
      throw new LlmUnusableReplyError(`the ${request.step} reply was unusable: ${(err as Error).message}`);
    }
    llmRequestsTotal.inc({ ...labels, outcome: 'ok' });
    return reply;
  }

  return {
    provider,
    async chat(request: ChatRequest, scope: CallScope, check?: ReplyCheck): Promise<ChatReply & { cached: boolean }> {
      const hit = await cache.get(provider, request);
      if (hit) {
        try {
          check?.(hit.content);
          await recordLlmCall(deps.db, {
            ...scope,
            provider: provider.name,
            model: hit.model,
            step: request.step,
            promptTokens: 0,
            completionTokens: 0,
            costUsd: 0,
            cached: true,
          });
          return { ...hit, cached: true };
        } catch {
          // A cached reply the current check rejects is asked for again.
        }
      }
      const reply = await pRetry(() => attempt(request, scope, check), {
        retries: config.LLM_RETRIES,
        minTimeout: 250,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => retriedInsideCall(error),
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          if (!retriedInsideCall(error)) return;
          deps.log.warn({ step: request.step, attemptNumber, retriesLeft, err: error.message }, 'model call failed');
        },
      });
      await cache.set(provider, request, reply);
      return { ...reply, cached: false };
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;

/**
 * Only a transient provider error is worth another try inside the call; everything else goes to the stage as it is
 * (a PermanentError fails the post, a wait or a budget stop is the stage's to apply, not a reason to ask again).
 */
function retriedInsideCall(err: Error): boolean {
  return err instanceof LlmTransientError;
}
