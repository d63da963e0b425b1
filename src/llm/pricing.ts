/** USD per million tokens, as configured in LLM_PRICES. */
export type Price = { prompt: number; completion: number };
export type PriceTable = Record<string, Price>;

/**
 * List prices of well-known OpenAI models, USD per million tokens (standard tier, as OpenAI published
 * them in 2025). LLM_PRICES overrides any of them and prices every other model; a model priced nowhere
 * has no price at all, and a budget cannot be kept with it (see priceFor).
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o-mini': { prompt: 0.15, completion: 0.6 },
  'gpt-4o': { prompt: 2.5, completion: 10 },
  'gpt-4.1': { prompt: 2, completion: 8 },
  'gpt-4.1-mini': { prompt: 0.4, completion: 1.6 },
  'gpt-4.1-nano': { prompt: 0.1, completion: 0.4 },
  'gpt-5': { prompt: 1.25, completion: 10 },
  'gpt-5-mini': { prompt: 0.25, completion: 2 },
  'gpt-5-nano': { prompt: 0.05, completion: 0.4 },
  o3: { prompt: 2, completion: 8 },
  'o3-mini': { prompt: 1.1, completion: 4.4 },
  'o4-mini': { prompt: 1.1, completion: 4.4 },
  'gpt-4-turbo': { prompt: 10, completion: 30 },
  'gpt-3.5-turbo': { prompt: 0.5, completion: 1.5 },
};

/** The model's price from LLM_PRICES, else its `*` entry, else the built-in table; null when unpriced. */
export function priceFor(table: PriceTable, model: string): Price | null {
  return table[model] ?? table['*'] ?? DEFAULT_PRICES[model] ?? null;
}

export function costUsd(price: Price, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.prompt + completionTokens * price.completion) / 1_000_000;
}

/** A rough count (about four characters a token) used before a call, when the real count is unknown. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
