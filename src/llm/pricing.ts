/** USD per million tokens, as configured in LLM_PRICES. */
export type Price = { prompt: number; completion: number };
export type PriceTable = Record<string, Price>;

/** The model's price, else the `*` entry, else free (a local model, or one nobody priced). */
export function priceFor(table: PriceTable, model: string): Price {
  return table[model] ?? table['*'] ?? { prompt: 0, completion: 0 };
}

export function costUsd(price: Price, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.prompt + completionTokens * price.completion) / 1_000_000;
}

/** A rough count (about four characters a token) used before a call, when the real count is unknown. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
