/**
 * A model's price, in millionths of a credit ("micro-credits") so admins can set decimals exactly.
 * The model `*` is the default for models without a row of their own.
 */
export interface ModelPricesTable {
  model: string;
  /** Per 1,000 input (prompt) tokens. */
  input_micro: number;
  /** Per 1,000 output (completion) tokens. */
  output_micro: number;
  per_request_micro: number;
  per_image_micro: number;
  /** The most output tokens one answer of the model can have; null takes the shipped default (see PricingService). */
  max_output_tokens: number | null;
  updated_at: number;
}

export interface PricingTables {
  model_prices: ModelPricesTable;
}
