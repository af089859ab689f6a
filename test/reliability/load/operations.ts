import { checkIn, keyChange, redeem } from './account-operations.ts';
import { plainChat, streamChat } from './chat-operations.ts';
import { difyChat } from './dify-operations.ts';
import { stripePurchase } from './payment-operations.ts';
import type { Operation } from './operation.ts';

/**
 * The mixed load: every operation a client of the cluster performs, with its weight. The driver picks
 * from this list, so a new kind of traffic is one more entry here.
 */
export const OPERATIONS: Operation[] = [
  plainChat,
  streamChat,
  checkIn,
  redeem,
  keyChange,
  // Dify chat on the cluster's Dify app (cluster-suite.ts starts its fake and passes DIFY_API_URL/KEY).
  difyChat,
  // Credit packs bought through the cluster's fake Stripe (cluster-suite.ts passes STRIPE_*).
  stripePurchase,
];
