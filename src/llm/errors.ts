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

/** The model refused, or its answer was cut off at the token limit: trying again gives the same. */
export class LlmRefusalError extends PermanentError {}
export class LlmTruncatedError extends PermanentError {}

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
