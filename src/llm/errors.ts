import { PermanentError } from '../errors.ts';

// Model errors by what the stage should do about them.

/** The provider asked us to slow down (429): the stage waits `waitMs`, spending no attempt. */
export class LlmRateLimitedError extends Error {
  override readonly name = 'LlmRateLimitedError';
  readonly waitMs: number;
  constructor(message: string, waitMs: number) {
    super(message);
    this.waitMs = waitMs;
  }
}

/** The provider is not to be called now (breaker open, shared limit reached): the stage waits. */
export class LlmWaitError extends Error {
  override readonly name = 'LlmWaitError';
  readonly waitMs: number;
  readonly scope: 'breaker' | 'limit';
  constructor(message: string, waitMs: number, scope: 'breaker' | 'limit') {
    super(message);
    this.waitMs = waitMs;
    this.scope = scope;
  }
}

/** The model refused: trying again gives the same. */
export class LlmRefusalError extends PermanentError {}

/** A step's reply was cut off at its token limit, again after the one retry it gets. */
export class LlmTruncatedError extends PermanentError {}

/** The endpoint refused the prompt as longer than the model's context (llama.cpp's and vLLM's 400). */
export class LlmContextOverflowError extends PermanentError {}

/** A step's replies stayed unusable (no prose, no JSON of the asked shape) after cleaning and retries. */
export class LlmUnusableReplyError extends PermanentError {}

/** A transient failure (5xx, timeout, connection, unparseable reply): retried. */
export class LlmTransientError extends Error {
  override readonly name = 'LlmTransientError';
}

/** The next call would take the tenant past its monthly budget or the post past its cap. */
export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
  readonly details: { scope: 'month' | 'post'; limitUsd: number; spentUsd: number; estimateUsd: number; step: string };
  constructor(message: string, details: BudgetExceededError['details']) {
    super(message);
    this.details = details;
  }
}
