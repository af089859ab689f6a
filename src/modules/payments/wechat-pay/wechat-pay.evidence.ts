import type { PaymentEvidence, RefundEvidence } from '../payment-provider.ts';

/**
 * What a WeChat Pay transaction or refund object (a decrypted notification, or an answer to a query)
 * proves, checked against who we are: the merchant number and the appid must be ours, the order
 * number and the money must be there and well formed. Comparing the money with the order is the
 * orders module's part (PaymentSink); a transaction for another merchant never gets that far.
 */
export class EvidenceRejected extends Error {
  override readonly name = 'EvidenceRejected';
}

export interface Merchant {
  mchid: string;
  appid: string;
}

export type TransactionView =
  | { kind: 'paid'; evidence: PaymentEvidence }
  | { kind: 'pending'; tradeState: string }
  | { kind: 'closed'; tradeState: string };

/** trade_state → what it means for an order (payments-storage-console.md §1.2). */
const PAID = new Set(['SUCCESS', 'REFUND']);
const PENDING = new Set(['NOTPAY', 'USERPAYING']);

export function readTransaction(
  tx: Record<string, unknown>,
  merchant: Merchant,
  via: PaymentEvidence['via'],
  nowMs: number,
  expectedOrderNo?: string,
): TransactionView {
  if (tx.mchid !== merchant.mchid) throw new EvidenceRejected(`mchid ${String(tx.mchid)} is not ours`);
  if (tx.appid !== merchant.appid) throw new EvidenceRejected(`appid ${String(tx.appid)} is not ours`);
  const orderNo = tx.out_trade_no;
  if (typeof orderNo !== 'string' || !orderNo) throw new EvidenceRejected('no out_trade_no');
  if (expectedOrderNo !== undefined && orderNo !== expectedOrderNo)
    throw new EvidenceRejected(`out_trade_no ${orderNo} is not the order asked about (${expectedOrderNo})`);
  const state = typeof tx.trade_state === 'string' ? tx.trade_state : '';
  if (PENDING.has(state)) return { kind: 'pending', tradeState: state };
  if (!PAID.has(state)) return { kind: 'closed', tradeState: state || 'unknown' };
  const amount = (tx.amount ?? {}) as Record<string, unknown>;
  const total = amount.total;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total <= 0)
    throw new EvidenceRejected('amount.total is not a positive whole number of fen');
  const transactionId = tx.transaction_id;
  if (typeof transactionId !== 'string' || !transactionId) throw new EvidenceRejected('no transaction_id');
  const paidAt = typeof tx.success_time === 'string' ? Date.parse(tx.success_time) : NaN;
  return {
    kind: 'paid',
    evidence: {
      provider: 'wechat',
      orderNo,
      transactionId,
      // amount.total, not payer_total: a coupon makes what the payer paid smaller than the order.
      amount: total,
      currency: typeof amount.currency === 'string' ? amount.currency : 'CNY',
      paidAt: Number.isFinite(paidAt) ? paidAt : nowMs,
      via,
    },
  };
}

const REFUND_STATE: Record<string, RefundEvidence['state']> = {
  SUCCESS: 'succeeded',
  CLOSED: 'failed',
  PROCESSING: 'pending',
  // The money could not reach the payer's card: not final, an operator settles it on the merchant platform.
  ABNORMAL: 'pending',
};

/** A refund object: `status` in answers and queries, `refund_status` in notifications. */
export function readRefund(
  refund: Record<string, unknown>,
  merchant: Pick<Merchant, 'mchid'>,
  via: RefundEvidence['via'],
): RefundEvidence {
  if (refund.mchid !== undefined && refund.mchid !== merchant.mchid)
    throw new EvidenceRejected(`mchid ${JSON.stringify(refund.mchid)} is not ours`);
  const { out_trade_no: orderNo, out_refund_no: refundNo, refund_id: refundId } = refund;
  if (typeof orderNo !== 'string' || typeof refundNo !== 'string' || typeof refundId !== 'string')
    throw new EvidenceRejected('a refund without out_trade_no, out_refund_no or refund_id');
  const given = refund.refund_status ?? refund.status;
  const status = typeof given === 'string' ? given : '';
  const state = REFUND_STATE[status];
  if (!state) throw new EvidenceRejected(`unknown refund status ${JSON.stringify(status)}`);
  const amount = (refund.amount ?? {}) as Record<string, unknown>;
  if (typeof amount.refund !== 'number' || !Number.isSafeInteger(amount.refund) || amount.refund <= 0)
    throw new EvidenceRejected('amount.refund is not a positive whole number of fen');
  return {
    provider: 'wechat',
    orderNo,
    refundNo,
    providerRefundId: refundId,
    amount: amount.refund,
    currency: typeof amount.currency === 'string' ? amount.currency : 'CNY',
    state,
    via,
  };
}
